// The gate's scanning page in real headless Chromium with real codes: a QR code shown to the
// fake camera is decoded in the browser and verified, and a keyboard-wedge scanner typing into
// the field works too. The three verdicts end to end: green allow, red deny (a revoked ID), amber
// try again (a replayed code). Screenshots of each go to docs/screenshots/ for the README (with
// UPDATE_SCREENSHOTS=1).
//
// Run through run.sh, which builds the binaries and passes their paths:
//   GOVID_VERIFIER=.../govid-verifier GATE_DEMO=.../examples/gate_demo node --test *.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  startGate, stopGates, launch, openPage, verdict, scan, assertVerdict, screenshots,
} from "./harness.mjs";

let gate;
before(async () => { gate = await startGate(); });
after(stopGates);

test("camera: an allowed code shows a green tick with the name, organization and instruction", async () => {
  const browser = await launch(gate.video("allow"));
  try {
    const { page, errors } = await openPage(browser, gate);
    const v = await verdict(page, "allow");
    assertVerdict(v, "allow", "en", { todo: "allow" });
    assert.equal(v.verdict, "Allowed");
    assert.equal(v.name, "Amira Haddad");
    assert.equal(v.org, "Ministry of Transport (MOT)");
    assert.equal(v.todo, "Let the holder in.");
    const decoder = await page.getAttribute("body", "data-decoder");
    assert.ok(["jsQR", "BarcodeDetector"].includes(decoder), decoder);
    assert.equal(await page.textContent("#gate"), "Gate: demo-gate");
    // A healthy gate: no problem banner.
    assert.equal(await page.isHidden("#health"), true);
    assert.equal(await page.getAttribute("body", "data-health"), "ok");
    await page.screenshot({ path: join(screenshots, "gate-allow.png") });
    // Then back to ready for the next person.
    await verdict(page, "ready");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("camera: a revoked ID's code shows a red cross, the reason and what to do", async () => {
  const browser = await launch(gate.video("deny"));
  try {
    const { page, errors } = await openPage(browser, gate);
    const v = await verdict(page, "deny");
    assertVerdict(v, "deny", "en", { reason: "revoked", todo: "refuse" });
    assert.equal(v.verdict, "Denied");
    assert.equal(v.reason, "ID has been revoked");
    assert.equal(v.todo, "Refuse entry.");
    assert.equal(v.code, "revoked");
    assert.equal(v.name, "");
    await page.screenshot({ path: join(screenshots, "gate-deny.png") });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("keyboard-wedge scanner: allow, the same code again is amber 'try again', revoked is red", async () => {
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser, gate);
    assert.equal(await page.evaluate(() => document.activeElement.id), "code");
    const allow = gate.code("allow");
    await page.keyboard.type(allow, { delay: 0 });
    await page.keyboard.press("Enter");
    const v = await verdict(page, "allow");
    assert.equal(v.name, "Amira Haddad");
    await verdict(page, "ready");
    assert.equal(await page.evaluate(() => document.activeElement.id), "code");
    // The same code again is a replay: not a verdict on the person, a fresh code settles it.
    await page.keyboard.type(allow, { delay: 0 });
    await page.keyboard.press("Enter");
    const replayed = await verdict(page, "retry");
    assertVerdict(replayed, "retry", "en", { reason: "replayed", todo: "fresh_code" });
    assert.equal(replayed.verdict, "Try again");
    assert.equal(replayed.reason, "This code was already used");
    assert.equal(replayed.todo, "Ask for a fresh code from the wallet and scan again.");
    assert.equal(replayed.code, "replayed");
    await page.screenshot({ path: join(screenshots, "gate-retry.png") });
    // The next scan is taken while the amber verdict is still on screen.
    await scan(page, gate.code("deny"));
    const revoked = await verdict(page, "deny");
    assertVerdict(revoked, "deny", "en", { reason: "revoked", todo: "refuse" });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
