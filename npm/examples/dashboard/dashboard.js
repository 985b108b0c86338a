// The example dashboard: @tend/web's browser build (in a project: `import init, {...} from
// "@tend/web"` with a bundler, or the dist/web files served next to the page).
import init, { RpcClient, olasFundingReport, simulate } from "../../dist/web/tend_web.js";

const NATIVE = "0x0000000000000000000000000000000000000000";
const $ = (id) => document.getElementById(id);
const ether = (text) => {
  const [whole, frac = ""] = String(text).trim().split(".");
  return BigInt(whole || "0") * 10n ** 18n + BigInt((frac + "0".repeat(18)).slice(0, 18) || "0");
};
const show = (wei) => `${(Number(wei / 10n ** 12n) / 1e6).toFixed(6)} ETH`;
let last = null;

function snapshot(chainName, agent, eoa, safe, balances) {
  const bal = (a) => String(balances[a]?.[NATIVE] ?? 0n);
  return {
    now: Math.floor(Date.now() / 1000),
    service: {
      service_config_id: "dashboard",
      agent_addresses: [agent],
      chains: {
        [chainName]: {
          service_safe: null,
          token: -1,
          cost_of_bond: "0",
          fund_requirements: { [NATIVE]: { agent: String(ether($("req-agent").value)), safe: String(ether($("req-safe").value)) } },
          staking: null,
        },
      },
    },
    wallet: { master_eoa: eoa, master_safes: { [chainName]: safe } },
    balances: { [chainName]: { [eoa]: { [NATIVE]: bal(eoa) }, [safe]: { [NATIVE]: bal(safe) }, [agent]: { [NATIVE]: bal(agent) } } },
    bonded_assets: {},
    agent_funds_status: null,
    funding_in_progress: false,
    funding_cooldown_until: 0,
    quickstart: false,
  };
}

async function read() {
  $("error").textContent = "";
  const [chainName, chainId] = $("chain").value.split(":");
  const [agent, eoa, safe] = ["agent", "eoa", "safe"].map((id) => $(id).value.trim());
  try {
    const client = new RpcClient([$("rpc").value.trim()]);
    const r = await client.readBalances(Number(chainId), [agent, eoa, safe], [NATIVE]);
    const byLower = Object.fromEntries(Object.entries(r.balances).map(([k, v]) => [k.toLowerCase(), v]));
    const balances = Object.fromEntries([agent, eoa, safe].map((a) => [a, byLower[a.toLowerCase()]]));
    $("block").textContent = `at block ${r.block}${r.multicall ? " (Multicall3)" : ""}`;
    const body = $("balances").querySelector("tbody");
    body.replaceChildren(
      ...[["agent", agent], ["master EOA", eoa], ["master Safe", safe]].map(([name, a]) => {
        const tr = document.createElement("tr");
        tr.dataset.wallet = name;
        for (const text of [name, a, String(balances[a][NATIVE])]) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        return tr;
      }),
    );
    const report = olasFundingReport(snapshot(chainName, agent, eoa, safe, balances));
    const verdict = $("verdict");
    verdict.className = report.is_refill_required ? "short" : "ok";
    verdict.textContent = report.is_refill_required ? "needs funds" : "funded";
    $("may-start").textContent = report.allow_start_agent ? "the agent may start" : "the agent may not start yet";
    const needs = [];
    for (const [holder, assets] of Object.entries(report.refill_requirements[chainName] ?? {})) {
      for (const [asset, amount] of Object.entries(assets)) {
        if (BigInt(amount) > 0n) needs.push(`${holder}: ${show(BigInt(amount))} (${amount} wei of ${asset === NATIVE ? "native" : asset})`);
      }
    }
    $("needs").replaceChildren(...needs.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
    last = { agentBalance: balances[agent][NATIVE] };
    draw();
  } catch (e) {
    $("error").textContent = `${e.code ?? "error"}: ${e.message}`;
  }
}

function draw() {
  if (!last) return;
  const target = ether($("target").value);
  $("target-value").textContent = $("target").value;
  const r = simulate({
    seed: 1,
    services: 1,
    duration_ms: 30 * 86_400_000,
    poll_ms: 60_000,
    sample_every_ms: 6 * 3_600_000,
    wallet_balance: last.agentBalance,
    low: target / 4n,
    target,
    spend_per_day: ether($("spend").value),
  });
  const s = r.summary.services[0];
  $("runway").textContent =
    `${s.transfers} top-ups, ${show(s.funded)} sent in 30 days; ` +
    (s.runway_secs === null ? "no spending" : `runway after the last top-up: ${(s.runway_secs / 86400).toFixed(1)} days`);
  $("runway").dataset.transfers = String(s.transfers);
  const pts = r.timeline.map((p) => [p.t, Number(p.wallets[0] / 10n ** 12n) / 1e6]);
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
  const max = Math.max(...pts.map((p) => p[1]), 1e-9);
  const line = pts.map(([t, v]) => `${(10 + ((t - t0) / (t1 - t0 || 1)) * 700).toFixed(1)},${(210 - (v / max) * 200).toFixed(1)}`).join(" ");
  $("chart").innerHTML =
    `<polyline id="runway-line" fill="none" stroke="#1f6feb" stroke-width="2" points="${line}"/>` +
    `<text x="12" y="16" font-size="11">${max.toFixed(3)} ETH</text><text x="12" y="214" font-size="11">0</text>`;
}

await init();
$("read").addEventListener("click", read);
$("target").addEventListener("input", draw);
window.dashboardReady = true;
