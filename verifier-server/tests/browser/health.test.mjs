// The page tells the guard when the gate itself is not fine (a banner from /healthz), and why
// the camera cannot start outside a secure context (HTTPS or localhost).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  tables, startGate, stopGates, launch, openPage, verdict, scan, assertVerdict, screenshots,
} from "./harness.mjs";

after(stopGates);

/** A loopback port nothing listens on: the status list host that is down. */
async function closedPort() {
  const s = createServer();
  await new Promise((ok) => s.listen(0, "127.0.0.1", ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

/** The banner's items, as [problem code, text]. */
function banner(page) {
  return page.$$eval("#health-list li", (items) => items.map((li) => [li.dataset.problem, li.textContent]));
}

async function until(what, check) {
  for (let i = 0; i < 100; i++) {
    const got = await check();
    if (got) { return got; }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  assert.fail("timed out waiting for " + what);
}

test("a gate whose status list host is down shows a banner naming the stale list", async () => {
  const uri = `http://127.0.0.1:${await closedPort()}/status/1`;
  const gate = await startGate({ args: ["--status-list", uri] });
  const health = await until("a failed fetch", async () => {
    const h = await gate.health();
    return h.status_lists.some((l) => l.uri === uri && l.last_fetch_failed) && h;
  });
  assert.equal(health.status, "degraded");
  const browser = await launch(null);
  try {
    for (const [locale, lang] of [["en-US", "en"], ["ko-KR", "ko"]]) {
      const { page, errors } = await openPage(browser, gate, { locale });
      await page.waitForSelector("#health:not([hidden])");
      assert.equal(await page.getAttribute("body", "data-health"), "problem");
      assert.equal(await page.textContent("#health-title"), tables[lang]["health.title"]);
      const t = tables[lang];
      assert.deepEqual(await banner(page), [
        ["stale", t["health.stale"].replace("{count}", "1")],
        ["fetch_failed", t["health.fetch_failed"].replace("{count}", "1")],
      ]);
      if (lang === "en") {
        assert.equal((await banner(page))[0][1],
          "Status list out of date (1): IDs may be refused as \"status unknown\".");
      }
      // The banner is in view above the verdict, and the page still checks codes.
      const [b, r] = await page.evaluate(() => ["health", "result"].map((id) => document.getElementById(id).getBoundingClientRect().top));
      assert.ok(b < r, "banner below the verdict");
      await scan(page, gate.code("allow"));
      await verdict(page, "allow");
      assert.deepEqual(errors, []);
    }
  } finally {
    await browser.close();
  }
});

test("a gate with no status source shows the warning, and its status_unknown verdict is amber", async () => {
  const gate = await startGate({
    edit: (toml, dir) => {
      // The issuer's key pinned instead of the trust bundle, and nothing to fetch status from.
      const jwk = JSON.parse(readFileSync(join(dir, "issuer.private.jwk"), "utf8"));
      delete jwk.d;
      writeFileSync(join(dir, "issuer.jwk"), JSON.stringify(jwk));
      const aud = toml.match(/audience = "([^"]+)"/)[1];
      return `[gate]\nid = "no-status-gate"\naudience = "${aud}"\n\n` +
        `[server]\nlisten = "127.0.0.1:0"\nrate_limit_per_sec = 0\n\n` +
        `[[trust.jwks]]\nfile = "issuer.jwk"\niss = "did:web:hr.ministry.example"\n\n` +
        `[status]\nfetch_discovered = false\n`;
    },
  });
  const health = await gate.health();
  assert.deepEqual(health.warnings, ["no_status_source"]);
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser, gate, { viewport: { width: 390, height: 844 } });
    await page.waitForSelector("#health:not([hidden])");
    assert.deepEqual(await banner(page), [
      ["no_status_source", "No status source is configured: IDs are refused as \"status unknown\"."],
    ]);
    await scan(page, gate.code("allow"));
    const v = await verdict(page, "retry");
    assertVerdict(v, "retry", "en", { reason: "status_unknown", todo: "operator" });
    assert.equal(v.code, "status_unknown");
    await page.screenshot({ path: join(screenshots, "gate-phone-degraded.png") });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a gate that stops answering /healthz is named in the banner", async () => {
  const gate = await startGate();
  const browser = await launch(null);
  try {
    const { page } = await openPage(browser, gate, {
      before: (p) => p.route("**/healthz", (r) => r.abort("connectionrefused")),
    });
    await page.waitForSelector("#health:not([hidden])");
    assert.deepEqual(await banner(page), [["unreachable", tables.en["health.unreachable"]]]);
  } finally {
    await browser.close();
  }
});

test("a healthy gate shows no banner", async () => {
  const gate = await startGate();
  assert.equal((await gate.health()).status, "ok");
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser, gate);
    await page.waitForFunction(() => document.body.dataset.health);
    assert.equal(await page.getAttribute("body", "data-health"), "ok");
    assert.equal(await page.isHidden("#health"), true);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("outside a secure context the page says the camera needs HTTPS; the scanner field still works", async () => {
  const gate = await startGate();
  // Chromium treats localhost and all of 127.0.0.0/8 as potentially trustworthy; a name that
  // resolves to loopback is not.
  const host = `gate.test:${gate.port}`;
  const browser = await launch(gate.video("allow"), [`--host-resolver-rules=MAP gate.test 127.0.0.1`]);
  try {
    for (const [locale, lang] of [["en-US", "en"], ["ko-KR", "ko"]]) {
      const { page, errors } = await openPage(browser, gate, { locale, url: `http://${host}/`, camera: false });
      assert.equal(await page.evaluate(() => window.isSecureContext), false);
      await page.waitForSelector("#camera-status[data-camera=insecure]");
      const message = await page.textContent("#camera-status");
      assert.equal(message, tables[lang]["camera.insecure"].replace("{host}", host));
      if (lang === "en") {
        assert.equal(message, `Camera needs HTTPS: open https://${host}/ or use a keyboard-wedge scanner.`);
      }
      assert.equal(await page.getAttribute("#camera-status", "class"), "notice");
      assert.equal(await page.isHidden("#video"), true);
      await scan(page, gate.code("allow"));
      assertVerdict(await verdict(page, "allow"), "allow", lang);
      assert.deepEqual(errors, []);
    }
    // The same gate on 127.0.0.1 is a secure context: the camera starts.
    const { page } = await openPage(browser, gate);
    await page.waitForSelector("#camera-status[data-camera=on]");
    assert.equal(await page.isVisible("#video"), true);
  } finally {
    await browser.close();
  }
});
