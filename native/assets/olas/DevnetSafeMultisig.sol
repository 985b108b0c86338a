// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// The Safe proxy factory 1.3.0 entry point used here.
interface IProxyFactory {
    function createProxyWithNonce(address singleton, bytes memory initializer, uint256 saltNonce)
        external
        returns (address proxy);
}

/// A registry multisig implementation for local devnets (tend's tests and demo): what
/// `ServiceRegistryL2.deploy` calls to make a service's Safe. It stands in for the Olas
/// SafeMultisigWithRecoveryModule and GnosisSafeMultisig, whose bytecode is not published:
/// `data` empty or `abi.encode(address fallbackHandler, uint256 saltNonce)` (64 bytes) makes a
/// Safe whose setup delegatecalls `recoveryModule.enableModule()` (when the module is set);
/// `data` of 144 bytes or more is GnosisSafeMultisig's packed layout
/// `to(20) fallbackHandler(20) paymentToken(20) paymentReceiver(20) payment(32) saltNonce(32)
/// [setup payload]`.
contract DevnetSafeMultisig {
    /// `setup(address[],uint256,address,bytes,address,address,uint256,address)` of Safe 1.3.0.
    bytes4 private constant SETUP = 0xb63e800d;
    /// `enableModule()` of the RecoveryModule.
    bytes4 private constant ENABLE_MODULE = 0x24292962;

    address public immutable safeSingleton;
    address public immutable proxyFactory;
    address public immutable recoveryModule;
    /// Safes made so far (the salt when none is given).
    uint256 public created;

    error IncorrectDataLength(uint256 provided);
    error ZeroAddress();

    constructor(address singleton, address factory, address module) {
        if (singleton == address(0) || factory == address(0)) {
            revert ZeroAddress();
        }
        safeSingleton = singleton;
        proxyFactory = factory;
        recoveryModule = module;
    }

    /// Makes a Safe 1.3.0 proxy owned by `owners` with `threshold`; returns its address.
    function create(address[] memory owners, uint256 threshold, bytes memory data)
        external
        returns (address multisig)
    {
        address to;
        address fallbackHandler;
        address paymentToken;
        address paymentReceiver;
        uint256 payment;
        uint256 saltNonce = created;
        bytes memory payload;
        if (data.length == 0 || data.length == 64) {
            if (data.length == 64) {
                (fallbackHandler, saltNonce) = abi.decode(data, (address, uint256));
            }
            if (recoveryModule != address(0)) {
                to = recoveryModule;
                payload = abi.encodeWithSelector(ENABLE_MODULE);
            }
        } else if (data.length >= 144) {
            assembly {
                let p := add(data, 32)
                to := shr(96, mload(p))
                fallbackHandler := shr(96, mload(add(p, 20)))
                paymentToken := shr(96, mload(add(p, 40)))
                paymentReceiver := shr(96, mload(add(p, 60)))
                payment := mload(add(p, 80))
                saltNonce := mload(add(p, 112))
            }
            uint256 rest = data.length - 144;
            payload = new bytes(rest);
            for (uint256 i = 0; i < rest; i++) {
                payload[i] = data[144 + i];
            }
        } else {
            revert IncorrectDataLength(data.length);
        }
        created += 1;
        bytes memory initializer = abi.encodeWithSelector(
            SETUP, owners, threshold, to, payload, fallbackHandler, paymentToken, payment, paymentReceiver
        );
        multisig = IProxyFactory(proxyFactory).createProxyWithNonce(safeSingleton, initializer, saltNonce);
    }
}
