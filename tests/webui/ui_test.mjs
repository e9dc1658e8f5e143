// The web UI in headless Chromium, against a real sluiced in the lab
// (webui_test.sh starts it and runs this inside the firewall's namespace):
// sign in with the keyboard, the overview, denied traffic appearing in
// Live flows with its rule, the editor (a typo pinned to its line, the
// fix, the diff, apply), traffic now dropped by the new rule, rollback,
// connections, the containers on the Endpoints page and on the map (live,
// the deciding rule on each edge), a phone-width screen, sign-out ending
// the session.
//
//   SHOP_NS=.. ROGUE_NS=.. WEB_ADDR=.. node ui_test.mjs BASE_URL LAN_NETNS USER PASSWORD SCREENSHOT_DIR
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import http from "node:http";
import { chromium } from "playwright-core";

const [base, lan, user, password, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
let checks = 0, failures = 0;
function check(what, ok, detail = "") {
  checks++;
  if (ok) console.log(`ok   - ${what}`);
  else {
    failures++;
    console.log(`FAIL - ${what}`);
    if (detail) console.log(`     | ${String(detail).slice(0, 1500).replaceAll("\n", "\n     | ")}`);
  }
}

// tcp PORT [NETNS ADDR]: whether a client (by default the lan's)
// connects (by default to the wan server).
function tcp(port, netns = lan, addr = "10.10.2.2") {
  try {
    execFileSync("ip", ["netns", "exec", netns, "timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${addr}/${port}`],
      { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// httpStatus NETNS URL: the HTTP status curl gets, "000" when none.
function httpStatus(netns, url) {
  try {
    return execFileSync("ip", ["netns", "exec", netns, "curl", "-s", "-m", "3", "-o", "/dev/null",
      "-w", "%{http_code}", url]).toString();
  } catch (e) {
    return e.stdout ? e.stdout.toString() : "000";
  }
}

async function soon(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return true;
    } catch { /* not yet */ }
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(path, cookie) {
  return new Promise((resolve, reject) => {
    http.get(base + path, { headers: { Cookie: cookie } }, (res) => { res.resume(); resolve(res.statusCode); })
      .on("error", reject);
  });
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const problems = [];
// Script errors and CSP refusals; failed requests (a 401 before signing
// in) are expected and not problems.
page.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
page.on("pageerror", (e) => problems.push(String(e)));
// Every request's fate, so that a failure says which request hung or failed.
const requests = new Map();
page.on("request", (r) => requests.set(r, "open"));
page.on("requestfinished", async (r) => requests.set(r, String((await r.response())?.status() ?? "?")));
page.on("requestfailed", (r) => requests.set(r, `failed: ${r.failure()?.errorText}`));
const posts = [];
page.on("request", (r) => {
  if (r.method() === "POST" && r.url().includes("/api/")) posts.push({ url: r.url(), csrf: r.headers()["x-csrf-token"] || "" });
});

try {
  // --- sign in, with the keyboard only -------------------------------------
  const first = await page.goto(base + "/");
  const csp = first.headers()["content-security-policy"] || "";
  check("the page is served with a CSP that forbids inline script", csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), csp);
  await page.waitForSelector("form input[name=user]");
  check("no inline script in the page", await page.evaluate(() => document.querySelectorAll("script:not([src])").length === 0));
  await page.screenshot({ path: `${shots}/signin.png` });
  await page.keyboard.type(user);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  check("signed in with the keyboard: the overview shows", await soon(() => page.isVisible("#overview-cards .card")));
  check("the overview names the ruleset", (await page.textContent("#overview-cards")).includes("rules"));
  check("the overview lists the interfaces", await soon(async () => (await page.textContent("#interfaces-table")).includes("lan0")));
  // Some traffic for the graph: web requests (allowed), pings (dropped).
  const traffic = spawn("ip", ["netns", "exec", lan, "bash", "-c",
    "end=$((SECONDS + 10)); while ((SECONDS < end)); do curl -s -o /dev/null -m 1 http://10.10.2.2/; " +
    "ping -q -c 20 -i 0.01 -W 0.1 10.10.2.2 >/dev/null; done"], { stdio: "ignore" });
  const exited = new Promise((resolve) => traffic.on("exit", resolve));
  check("the graph shows allowed and dropped packets per second", await soon(async () => {
    const m = /now: ([\d,]+) allowed\/s, ([\d,]+) dropped\/s/.exec(await page.textContent("#rates"));
    return m && m[1] !== "0" && m[2] !== "0";
  }, 6000), await page.textContent("#rates"));
  check("the interfaces show their rates", await soon(async () =>
    (await page.$$eval("#interfaces-table tbody tr td:nth-child(4)", (tds) => tds.map((td) => td.textContent))).some((t) => t !== "0")));
  await exited;  // a few seconds of traffic on the graph
  await page.screenshot({ path: `${shots}/overview.png` });

  // --- denied traffic shows up live with its rule -------------------------------
  await page.click("nav a[href='#/flows']");
  check("live flows connect", await soon(async () => (await page.textContent("#stream-state")) === "live"));
  check("smb is dropped", !tcp(445));
  const smb = "#flow-rows tr[data-verdict=dropped][data-rule=no-smb]";
  check("the dropped smb flow appears live with rule 'no-smb'", await soon(() => page.isVisible(smb)));
  check("dropped flows are coloured", await page.$eval(`${smb} td.verdict`, (td) => getComputedStyle(td).color) === "rgb(198, 40, 40)");
  await page.screenshot({ path: `${shots}/flows.png` });
  await page.click("nav a[href='#/flows']");
  await page.fill("#flow-filters input[name=port]", "445");
  await page.selectOption("#flow-filters select[name=verdict]", "dropped");
  await page.click("#flow-filters button[type=submit]");
  check("filters narrow the list", await soon(async () => {
    const rules = await page.$$eval("#flow-rows tr", (rows) => rows.map((r) => r.dataset.verdict));
    return rules.length > 0 && rules.every((v) => v === "dropped");
  }));
  await page.click("#pause");
  check("pause holds new flows", (await page.textContent("#stream-state")).startsWith("paused"));
  await page.click("#pause");
  await page.click(`${smb} a.rule-link`);
  check("the rule link leads to the rule, highlighted", await soon(() => page.isVisible("#rule-no-smb.highlight")));

  // --- the editor: a typo pinned to its line, fixed, diffed, applied -------------
  await page.waitForSelector("#config-text");
  const original = await page.inputValue("#config-text");
  const lines = original.split("\n");
  const webAt = lines.indexOf('name = "web"');
  const typoLines = [...lines.slice(0, webAt + 1), 'actoin = "drop"', ...lines.slice(webAt + 1)];
  await page.fill("#config-text", typoLines.join("\n"));
  const typoLine = webAt + 2;
  check("a typo is reported at its line", await soon(() => page.isVisible(`#diagnostics button[data-line='${typoLine}'][data-column='1']`)),
    await page.textContent("#diagnostics"));
  check("the typo's line is marked in the gutter", await page.$$eval(".gutter .bad", (b) => b.map((x) => x.textContent.trim())).then((b) => b.includes(String(typoLine))));
  check("apply is disabled while the text has errors", await page.isDisabled("#apply"));
  await page.screenshot({ path: `${shots}/rules-error.png`, fullPage: true });
  // The fix: a rule of its own, before "web", that drops the web.
  const block = ["[[rule]]", 'name = "block-web"', 'chain = "forward"', 'proto = "tcp"', "port = 80", 'action = "drop"', ""];
  const edited = [...lines.slice(0, webAt - 1), ...block, ...lines.slice(webAt - 1)].join("\n");
  await page.fill("#config-text", edited);
  check("the fixed text validates", await soon(async () => (await page.textContent("#validation")).startsWith("Valid")));
  await page.click("#diff");
  check("the diff shows the new rule", await soon(async () => (await page.textContent("#changes")).includes("block-web")));
  await page.screenshot({ path: `${shots}/rules-diff.png`, fullPage: true });
  await page.click("#apply");
  check("applied", await soon(async () => (await page.textContent("#changes")).includes("Applied as version")));
  check("the new rule is in the table", await soon(() => page.isVisible("#rule-block-web")));
  check("the web is now dropped", !tcp(80));
  await page.click("nav a[href='#/flows']");
  check("... and shows up dropped by 'block-web'",
    await soon(() => page.isVisible("#flow-rows tr[data-verdict=dropped][data-rule=block-web]")));
  await page.screenshot({ path: `${shots}/flows-block-web.png` });

  // --- roll back -----------------------------------------------------------------------
  await page.click("nav a[href='#/rules']");
  await page.waitForSelector("#rollback");
  await page.click("#rollback");
  check("rolled back: block-web is gone", await soon(async () => !(await page.isVisible("#rule-block-web"))));
  check("the web is allowed again", tcp(80));
  check("the history shows the versions", await soon(async () => (await page.$$("#history tbody tr")).length >= 3));
  await page.screenshot({ path: `${shots}/rules.png`, fullPage: true });

  // --- apply with a deadline: a visible countdown, then confirm -------------------------
  await page.fill("#config-text", edited);
  await soon(async () => (await page.textContent("#validation")).startsWith("Valid"));
  await page.selectOption("#confirm-within", "120");
  await page.click("#apply");
  check("a confirm deadline shows a countdown", await soon(async () => /Rolls back in \d+ s/.test(await page.textContent("#countdown"))));
  await page.click("#confirm");
  check("confirmed", await soon(async () => (await page.textContent("#countdown")) === "Confirmed."));
  await page.click("#rollback");
  check("and rolled back again", await soon(async () => !(await page.isVisible("#rule-block-web"))));

  // --- connections ---------------------------------------------------------------------
  tcp(8081);
  await page.click("nav a[href='#/connections']");
  check("connections lists tracked flows", await soon(async () => (await page.$$("#conntrack-table tbody tr")).length > 0));
  await page.screenshot({ path: `${shots}/connections.png` });
  await page.fill("form.filters input[name=filter]", "10.10.1");
  await page.press("form.filters input[name=filter]", "Enter");
  check("a filter that is no address is refused, saying why", await soon(async () =>
    /filter refused: .*must be an address/.test(await page.textContent("#conntrack-summary"))));
  check("and the last page is not left up", (await page.$$("#conntrack-table tbody tr")).length === 0);
  await page.fill("form.filters input[name=filter]", "");
  await page.press("form.filters input[name=filter]", "Enter");
  check("cleared, the flows are back", await soon(async () => (await page.$$("#conntrack-table tbody tr")).length > 0));

  // --- containers: the Endpoints page and the map ---------------------------------------
  const { SHOP_NS: shop, ROGUE_NS: rogue, WEB_ADDR: webAddr } = process.env;
  check("shop-1 reaches web-1 (shop-to-web)", tcp(8080, shop, webAddr));
  check("rogue-1 does not (nothing-else-to-web)", !tcp(8080, rogue, webAddr));
  check("shop-1 reaches the wan server (containers-out)", tcp(80, shop));
  // The L7 rule shop-api: its proxy answers, and its records show.
  check("shop-1: GET /api/v1/items through the L7 proxy -> 200", await soon(async () =>
    httpStatus(shop, `http://${webAddr}:8081/api/v1/items`) === "200"));
  check("shop-1: GET /admin -> 403", httpStatus(shop, `http://${webAddr}:8081/admin`) === "403");
  await page.click("nav a[href='#/flows']");
  check("flows name the containers at both ends", await soon(async () => {
    const rows = await page.$$eval("#flow-rows tr[data-rule=nothing-else-to-web]",
      (trs) => trs.map((tr) => [...tr.querySelectorAll(".workload")].map((d) => d.textContent)));
    return rows.some(([src, dst]) => src?.startsWith("rogue-1") && dst === "web-1 (app=web)");
  }));
  await page.selectOption("select[name=l7]", "yes");
  // The proxy's records reach sluiced within a few hundred ms of the
  // request (each worker hands them over every 100 ms, the proxy reports
  // every 100 ms): the filter is applied again until they are in.
  check("the L7 filter keeps only the proxy's records, with their L7 column", await soon(async () => {
    await page.click("#flow-filters button[type=submit]");
    const cells = await page.$$eval("#flow-rows tr td.l7", (tds) => tds.map((td) => td.textContent));
    return cells.length >= 2 && cells.every((c) => c !== "") &&
      cells.some((c) => c.includes("GET") && c.includes("/admin") && c.includes("\u2192 403"));
  }));
  check("the denied request names its rule", await soon(() =>
    page.isVisible("#flow-rows tr[data-verdict=rejected][data-rule=shop-api]")));
  await page.screenshot({ path: `${shots}/flows-l7.png` });

  await page.click("nav a[href='#/endpoints']");
  check("the Endpoints page lists the three containers", await soon(async () =>
    (await page.$$eval("#endpoints-table tbody tr", (rows) => rows.map((r) => r.dataset.name)).then((n) => n.sort().join(","))) ===
      "rogue-1,shop-1,web-1"));
  const webRow = await page.$$eval("#endpoints-table tr[data-name='web-1'] td", (tds) => tds.map((td) => td.textContent));
  check("with its address, labels and identity", webRow[2] === webAddr && webRow[3] === "app=web" && Number(webRow[4]) >= 256,
    JSON.stringify(webRow));
  await page.fill("input[name=filter]", "app=shop");
  check("the filter narrows them by label", await soon(async () =>
    (await page.$$("#endpoints-table tbody tr")).length === 1 && await page.isVisible("#endpoints-table tr[data-name='shop-1']")));
  await page.fill("input[name=filter]", "");
  await page.screenshot({ path: `${shots}/endpoints.png` });

  await page.click("nav a[href='#/map']");
  const edge = (src, dst, kind) => `#map g.edge[data-src='${src}'][data-dst='${dst}'][data-kind='${kind}']`;
  const wanted = ["outside", "rogue-1", "shop-1", "this host", "web-1"];
  check("the map shows the containers, this host and the outside", await soon(async () =>
    (await page.$$eval("#map g.node", (g) => g.map((x) => x.dataset.name).sort().join(","))) === wanted.join(",")));
  check("an allowed edge shop-1 -> web-1 carries its rule", await soon(async () =>
    (await page.textContent(edge("shop-1", "web-1", "allowed"))).includes("shop-to-web")));
  check("a denied edge rogue-1 -> web-1 carries its rule", await soon(async () =>
    (await page.textContent(edge("rogue-1", "web-1", "denied"))).includes("nothing-else-to-web")));
  check("shop-1 -> outside is allowed by containers-out", await soon(async () =>
    (await page.textContent(edge("shop-1", "outside", "allowed"))).includes("containers-out")));
  check("live: the map waits on the stream", await soon(async () => (await page.textContent("#map-state")) === "live"));
  check("the L7 verdicts show on the edges: GET /admin -> 403 on shop-1 -> web-1, denied", await soon(async () =>
    (await page.textContent("#map-table tr[data-src='shop-1'][data-dst='web-1'][data-kind='denied']")).includes("GET /admin \u2192 403")));
  // A new kind of flow while the map is open: web-1 tries the wan server
  // on a port no rule allows (the forward default drops it).
  check("web-1 cannot reach the wan server on 8081", !tcp(8081, shop.replace("shop", "web")));
  check("the new denied edge appears live, decided by the default", await soon(async () =>
    (await page.textContent(edge("web-1", "outside", "denied"))).includes("default"), 8000));
  check("the table under the map says the same", await soon(async () =>
    (await page.textContent("#map-table tr[data-src='rogue-1'][data-dst='web-1'][data-kind='denied']")).includes("nothing-else-to-web")));
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${shots}/map.png` });

  // --- a phone-width screen ----------------------------------------------------------------
  await page.setViewportSize({ width: 375, height: 800 });
  for (const view of ["overview", "rules", "flows", "endpoints", "map"]) {
    await page.click(`nav a[href='#/${view}']`);
    await page.waitForTimeout(700);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(`${view} fits a phone-width screen (tables scroll inside)`, overflow <= 1, `${overflow}px too wide`);
  }
  await page.screenshot({ path: `${shots}/phone-overview.png` });
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- moving on while a view still loads ------------------------------------------------------
  // The flows page's first request is held back half a second; before it
  // answers, the user opens Connections. The flows page must give way: no
  // live stream left open behind the next view, nothing drawn over it.
  await page.addInitScript(() => {
    const Real = window.EventSource;
    window.__streams = [];
    window.EventSource = class extends Real {
      constructor(...args) { super(...args); window.__streams.push(this); }
      close() { this.closedByPage = true; super.close(); }
    };
  });
  await page.reload();
  await page.evaluate(() => { location.hash = "#/overview"; });
  await soon(() => page.isVisible("nav a[aria-current=page][href='#/overview']"));
  await page.waitForTimeout(500);
  await page.evaluate(() => { window.__streams.length = 0; });
  const slowFlows = /\/api\/v1\/flows\?/;
  await page.route(slowFlows, async (r) => { await new Promise((done) => setTimeout(done, 500)); await r.continue(); });
  await page.evaluate(() => { location.hash = "#/flows"; });
  await page.waitForTimeout(100);
  await page.evaluate(() => { location.hash = "#/connections"; });
  check("moving on while a view loads: the next view shows", await soon(async () => (await page.$$("#conntrack-table tbody tr")).length > 0));
  await page.waitForTimeout(1200);
  // Left open: not closed by the page (the server may have refused it meanwhile).
  const streams = await page.evaluate(() => ({
    made: window.__streams.length, left: window.__streams.filter((x) => !x.closedByPage).length }));
  check("the view left while loading keeps no live stream open", streams.left === 0, JSON.stringify(streams));
  check("and draws nothing over the next view", (await page.$$("#flow-filters")).length === 0 &&
    (await page.$$("#conntrack-table")).length === 1);
  await page.unroute(slowFlows);

  // --- every change carried the CSRF token; sign-out ends the session ---------------------------
  const cookie = (await context.cookies()).find((c) => c.name === "sluice_session");
  await page.click("#signout");
  check("signed out: the sign-in page shows", await soon(() => page.isVisible("form input[name=user]")));
  const changes = posts.filter((p) => !p.url.endsWith("/api/v1/login"));
  check("every state change carried the CSRF token", changes.length >= 5 && changes.every((p) => /^[0-9a-f]{64}$/.test(p.csrf)),
    JSON.stringify(changes));
  check("the old session cookie is refused by the server", (await get("/api/v1/status", `sluice_session=${cookie.value}`)) === 401);
  check("no errors or CSP violations in the console", problems.length === 0, problems.join("\n"));
} catch (e) {
  const fates = [...requests].filter(([, fate]) => fate === "open" || fate.startsWith("failed") || fate >= "500")
    .map(([r, fate]) => `${r.method()} ${r.url()}: ${fate}`);
  check("the browser test ran to the end", false, `${e.stack}\nrequests still open, failed or answered 5xx:\n${fates.join("\n")}\n` +
    `page problems:\n${problems.join("\n")}`);
  await page.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
