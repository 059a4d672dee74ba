// Every reason the gate can answer maps to one verdict (allow / deny / try again) and one
// instruction, in English and in Korean: the reasons are read from verifier-server/README.md's
// "Decision reasons" table, the answers are the gate's JSON (served through the page's real
// fetch), and the page's words come from static/i18n/{en,ko}.json, which hold the same keys.
// The language is the gate's `[gate] language` when set, else the browser's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  repo, tables, startGate, stopGates, launch, openPage, verdict, seen, scan, assertVerdict,
} from "./harness.mjs";

/** The reason codes of the README's "Decision reasons" table (every code in its first column). */
function readmeReasons() {
  const readme = readFileSync(join(repo, "verifier-server/README.md"), "utf8");
  const section = readme.split("\n## Decision reasons\n")[1].split("\n## ")[0];
  const codes = section.split("\n").filter((l) => l.startsWith("| `"))
    .flatMap((l) => [...l.split("|")[1].matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]));
  return [...new Set(codes)];
}

// The refusals /v1/verify answers before any decision (README "HTTP API"), with their status.
const REFUSALS = {
  too_large: 413, unsupported_media_type: 415, bad_utf8: 400, bad_json: 400,
  rate_limited: 429, timeout: 503, client_connection_limit: 429,
};

// The guard's "try again" cases: nothing is known against the holder.
const RETRY = [
  "replayed", "code_before_restart", "kb_iat", "status_unknown", "replay_cache_full", "bad_qr",
  "challenge_unknown", "rate_limited", "client_connection_limit", "timeout",
];
// Some of the reasons an ID must not pass with.
const DENY = [
  "revoked", "suspended", "expired", "not_yet_valid", "untrusted_issuer", "bad_signature",
  "typ", "kb_signature", "sd_hash", "disclosure_malformed", "vct_not_accepted", "kb_aud",
  "status_claim_missing", "too_large",
];

let gate;
before(async () => { gate = await startGate(); });
after(stopGates);

test("the README's reason table is found and names the reasons the page must know", () => {
  const reasons = readmeReasons();
  assert.ok(reasons.length >= 50, `${reasons.length} reasons`);
  for (const r of [...RETRY, ...DENY].filter((r) => !(r in REFUSALS))) {
    assert.ok(reasons.includes(r), `${r} is not in the README's table`);
  }
});

test("both string tables hold the same keys, every one filled, with the same placeholders", () => {
  const keys = Object.keys(tables.en).sort();
  assert.deepEqual(Object.keys(tables.ko).sort(), keys);
  const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of keys) {
    for (const lang of ["en", "ko"]) {
      assert.ok(tables[lang][k].trim(), `${lang} ${k} is empty`);
    }
    assert.deepEqual(holes(tables.ko[k]), holes(tables.en[k]), k);
    assert.notEqual(tables.ko[k], tables.en[k], `ko ${k} is not translated`);
  }
});

/** The page, with /v1/verify answering what `answers[code]` says for the scanned text `code`. */
async function mockedPage(browser, locale, answers) {
  return openPage(browser, gate, {
    locale,
    before: (page) => page.route("**/v1/verify", async (route) => {
      const a = answers(route.request().postData());
      if (a === "abort") { return route.abort("connectionrefused"); }
      return route.fulfill({ status: a.status, contentType: "application/json", body: JSON.stringify(a.body) });
    }),
  });
}

/** Scans `code` and returns what the page shows once the verdict for it is up. */
async function verdictFor(page, code) {
  await scan(page, code);
  await page.waitForFunction((c) => document.getElementById("result").dataset.reason === c
    && document.body.dataset.state !== "checking", code);
  return seen(page);
}

for (const [locale, lang] of [["en-US", "en"], ["ko-KR", "ko"]]) {
  test(`${lang}: every reason shows one verdict, its own words and an instruction`, async () => {
    const t = tables[lang];
    const reasonTexts = new Set(Object.keys(t).filter((k) => k.startsWith("reason.") && k !== "reason.unknown").map((k) => t[k]));
    const instructions = new Set(Object.keys(t).filter((k) => k.startsWith("do.") && k !== "do.unknown" && k !== "do.allow").map((k) => t[k]));
    const browser = await launch(null);
    try {
      const { page, errors } = await mockedPage(browser, locale, (code) => {
        if (code === "network") { return "abort"; }
        if (code in REFUSALS) { return { status: REFUSALS[code], body: { error: code } }; }
        return { status: 200, body: { decision: "deny", reason: code, disclosed: {}, credential_status: null } };
      });
      assert.equal(await page.getAttribute("html", "lang"), lang);
      assert.equal(await page.textContent("#check"), t["ui.check"]);
      const states = {};
      for (const code of [...readmeReasons(), ...Object.keys(REFUSALS), "network"]) {
        const v = await verdictFor(page, code);
        assert.ok(["deny", "retry"].includes(v.state), `${code}: ${v.state}`);
        assertVerdict(v, v.state, lang);
        assert.ok(reasonTexts.has(v.reason), `${code}: reason ${JSON.stringify(v.reason)}`);
        assert.ok(instructions.has(v.todo), `${code}: instruction ${JSON.stringify(v.todo)}`);
        states[code] = v.state;
      }
      for (const code of RETRY) { assert.equal(states[code], "retry", code); }
      for (const code of DENY) { assert.equal(states[code], "deny", code); }
      assert.equal(states.network, "retry");
      // The reasons the guard acts on, word for word.
      let v = await verdictFor(page, "replayed");
      assertVerdict(v, "retry", lang, { reason: "replayed", todo: "fresh_code" });
      v = await verdictFor(page, "kb_iat");
      assertVerdict(v, "retry", lang, { reason: "kb_iat", todo: "clock" });
      v = await verdictFor(page, "status_unknown");
      assertVerdict(v, "retry", lang, { reason: "status_unknown", todo: "operator" });
      v = await verdictFor(page, "network");
      assertVerdict(v, "retry", lang, { reason: "network", todo: "operator" });
      v = await verdictFor(page, "rate_limited");
      assertVerdict(v, "retry", lang, { reason: "rate_limited", todo: "wait" });
      v = await verdictFor(page, "suspended");
      assertVerdict(v, "deny", lang, { reason: "suspended", todo: "refuse_hr" });
      // A reason this page does not know yet: deny, named, with the generic instruction.
      v = await verdictFor(page, "some_future_rule");
      assertVerdict(v, "deny", lang, { todo: "unknown" });
      assert.equal(v.reason, t["reason.unknown"].replace("{code}", "some_future_rule"));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}

test("Korean browser, real codes: allow, replayed (amber) and revoked in Korean", async () => {
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser, gate, { locale: "ko-KR" });
    assert.equal(await page.getAttribute("html", "lang"), "ko");
    assert.equal(await page.textContent("h1"), "신분 확인");
    assert.equal(await page.textContent("#gate"), "출입구: demo-gate");
    assert.equal((await verdict(page, "ready")).verdict, "준비");
    const allow = gate.code("allow");
    await scan(page, allow);
    const v = await verdict(page, "allow");
    assertVerdict(v, "allow", "ko", { todo: "allow" });
    assert.equal(v.verdict, "통과");
    await scan(page, allow);
    const again = await verdict(page, "retry");
    assertVerdict(again, "retry", "ko", { reason: "replayed", todo: "fresh_code" });
    assert.equal(again.reason, "이미 사용된 코드입니다");
    await scan(page, gate.code("deny"));
    assertVerdict(await verdict(page, "deny"), "deny", "ko", { reason: "revoked", todo: "refuse" });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("[gate] language = \"ko\" wins over an English browser, and /healthz says so", async () => {
  const ko = await startGate({ edit: (toml) => toml.replace("[gate]\n", "[gate]\nlanguage = \"ko\"\n") });
  assert.equal((await ko.health()).language, "ko");
  assert.equal((await gate.health()).language, null);
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser, ko, { locale: "en-US" });
    assert.equal(await page.evaluate(() => navigator.language), "en-US");
    assert.equal(await page.getAttribute("html", "lang"), "ko");
    assert.equal(await page.textContent("#check"), "확인");
    await scan(page, ko.code("deny"));
    assertVerdict(await verdict(page, "deny"), "deny", "ko", { reason: "revoked", todo: "refuse" });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
