//! Every reader of tend's inputs, over text from anywhere: typed errors, never a panic; and the
//! engine's internally tagged enums read in any key order.

#[cfg(test)]
mod fuzz {
    //! Any text, JSON-like or not, gives a value or a typed error: never a panic.
    use proptest::prelude::*;

    fn all_readers(text: &str) {
        let _ = crate::engine::io::Input::from_json(text);
        let _ = crate::engine::io::JournalEntry::list_from_json(text);
        let _ = crate::engine::config::EngineConfig::from_json(text);
        let _ = crate::sim::SimConfig::from_json(text);
        let _ = crate::rpc::RpcPolicy::from_json(text);
        let _ = crate::nonce::NonceRequest::from_json(text);
        let _ = crate::health::HealthRequest::from_json(text);
        let _ = crate::lifecycle::plan::TransitionRequest::from_json(text);
        let _ = crate::recording::Recording::parse(text);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn json_like_text_never_panics(text in r#"[\[\]{}":,0-9a-z_\\ .eE+-]{0,160}"#) {
            all_readers(&text);
        }

        #[test]
        fn any_text_never_panics(text in any::<String>()) {
            all_readers(&text);
        }


        /// Valid inputs cut anywhere or with one byte changed.
        #[test]
        fn damaged_inputs_never_panic(cut in 0usize..400, at in 0usize..400, b in 0x20u8..0x7f) {
            for good in [
                r#"{"input":"rpc_response","now":5,"id":7,"latency_ms":3,"result":{"Ok":{"answer":"balances","block":9,"values":["1","0x2"]}}}"#,
                r#"{"input":"probed","now":1,"service":"a","result":{"result":"http","status":200,"latency_ms":3,"body":{"is_healthy":true}}}"#,
                r#"{"records":[],"chain":{"latest":4,"pending":6,"head":100},"now":0}"#,
                r#"{"services":2,"duration_ms":3600000,"sample_every_ms":600000}"#,
            ] {
                all_readers(&good[..cut.min(good.len())]);
                let mut bytes = good.as_bytes().to_vec();
                let i = at % bytes.len();
                bytes[i] = b;
                all_readers(&String::from_utf8(bytes).unwrap());
            }
        }
    }
}

#[cfg(test)]
mod tagged_tests {
    //! Internally tagged enums of the engine read by [`super`]: any key order, unit and newtype
    //! variants, unknown keys, and bad objects.
    use crate::engine::io::{Input, RpcAnswer};
    use crate::health::ProbeResult;
    use crate::rpc::RpcFailure;
    use tend_json::read::from_str;

    fn parse(text: &str) -> Result<Input, String> {
        Input::from_json(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_order_of_keys_reads_the_same_input() {
        let tag_first = r#"{"input":"rpc_response","now":5,"id":7,"latency_ms":3,"result":{"Ok":{"answer":"balances","block":9,"values":["1","0x2"]}}}"#;
        let tag_last = r#"{"now":5,"result":{"Ok":{"block":9,"values":["1","0x2"],"answer":"balances"}},"latency_ms":3,"id":7,"input":"rpc_response"}"#;
        let a = parse(tag_first).unwrap();
        assert_eq!(a, parse(tag_last).unwrap());
        let Input::RpcResponse {
            result: Ok(RpcAnswer::Balances { block, values, .. }),
            ..
        } = &a
        else {
            panic!("{a:?}");
        };
        assert_eq!(*block, 9);
        assert_eq!(values.len(), 2);
        assert_eq!(values[1], alloy_primitives::U256::from(2));
        // What the serialiser writes reads back to the same value.
        assert_eq!(parse(&serde_json::to_string(&a).unwrap()).unwrap(), a);
    }

    #[test]
    fn unit_variants_newtype_variants_and_unknown_keys() {
        let f: RpcFailure =
            from_str(r#"{"failure":"missing_response","extra":[1,{"a":2}]}"#).unwrap();
        assert_eq!(f, RpcFailure::MissingResponse);
        let f: RpcFailure = from_str(r#"{"status":429,"failure":"http"}"#).unwrap();
        assert_eq!(
            f,
            RpcFailure::Http {
                status: 429,
                retry_after_ms: None
            }
        );
        let p: ProbeResult = from_str(r#"{"result":"timeout"}"#).unwrap();
        assert_eq!(p, ProbeResult::Timeout);
        let a: RpcAnswer = from_str(
            r#"{"answer":"fee_history","base_fee_per_gas":["1","2"],"reward":["3"],"other":true}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            RpcAnswer::FeeHistory(crate::fees::FeeHistory {
                base_fee_per_gas: vec![1, 2],
                reward: vec![3],
            })
        );
    }

    #[test]
    fn bad_objects_are_errors_that_name_the_problem() {
        let e = parse(r#"{"input":"nope","now":1}"#).unwrap_err();
        assert!(e.contains("unknown variant `nope`"), "{e}");
        let e = parse(r#"{"now":1}"#).unwrap_err();
        assert!(e.contains("missing field `input`"), "{e}");
        let e = parse("{}").unwrap_err();
        assert!(e.contains("missing field `input`"), "{e}");
        let e = parse(r#"{"now":1,"input":"tick","input":"tick"}"#).unwrap_err();
        assert!(e.contains("duplicate field `input`"), "{e}");
        let e = parse(r#"{"input":"tick"}"#).unwrap_err();
        assert!(e.contains("missing field `now`"), "{e}");
        // Re-ordered: the message is about the value, not about the text tend wrote for it.
        let e = parse(r#"{"now":"soon","input":"tick"}"#).unwrap_err();
        assert!(e.contains(r#"invalid type: string "soon""#), "{e}");
        assert_eq!(e.matches(" at line ").count(), 1, "{e}");
        let e = parse(r#"{"input":7,"now":1}"#).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        assert!(parse("[1,2]").is_err());
        assert!(parse(r#""tick""#).is_err());
        let e = parse(r#"{"now":1,"input":5}"#).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
    }
}
