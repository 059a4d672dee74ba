// The gate's scanning page in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): a QR code shown to the fake camera is decoded in the browser and verified,
// and a keyboard-wedge scanner typing into the field works too. Screenshots of both verdicts go
// to docs/screenshots/ for the README (with UPDATE_SCREENSHOTS=1).
//
// Run through run.sh, which builds the binaries and passes their paths:
//   GOVID_VERIFIER=.../govid-verifier GATE_DEMO=.../examples/gate_demo node --test gate.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
// The README's screenshots are replaced only when asked (UPDATE_SCREENSHOTS=1); otherwise they
// are still taken, into the scratch directory.
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === "1";
let screenshots;
const verifier = process.env.GOVID_VERIFIER;
const demo = process.env.GATE_DEMO;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(verifier && demo, "set GOVID_VERIFIER and GATE_DEMO (run.sh does)");

let dir, server, base, stderr = "";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "govid-browser-"));
  execFileSync(demo, ["setup", dir, "0"]);
  server = spawn(verifier, ["serve", "--config", join(dir, "gate.toml")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stderr.on("data", (d) => { stderr += d; });
  base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("gate did not start: " + stderr)), 20000);
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) { clearTimeout(timer); ok("http://" + m[1]); }
    });
    server.on("exit", (code) => fail(new Error(`gate exited ${code}: ${stderr}`)));
  });
  screenshots = updateScreenshots ? join(repo, "docs", "screenshots") : join(dir, "screenshots");
  mkdirSync(screenshots, { recursive: true });
});

after(() => {
  if (server) { server.kill("SIGTERM"); }
  if (dir) { rmSync(dir, { recursive: true, force: true }); }
});

/** Chromium whose camera shows `video` (a .y4m file), or no camera at all. */
async function launch(video) {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream",
  ];
  if (video) {
    args.push("--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 820 } });
  await context.grantPermissions(["camera"], { origin: base });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => {
    if (!r.url().startsWith(base)) { errors.push("external request: " + r.url()); }
  });
  await page.goto(base + "/");
  return { page, errors };
}

/** A fresh code from the demo wallet `who` (allow | deny), written as a fake-camera video. */
function cameraVideo(who) {
  const path = join(dir, `${who}.y4m`);
  execFileSync(demo, ["y4m", dir, who, path]);
  return path;
}

async function verdict(page, state) {
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: 30000 });
  return {
    verdict: await page.textContent("#verdict"),
    symbol: await page.textContent("#symbol"),
    name: await page.textContent("#name"),
    org: await page.textContent("#org"),
    reason: await page.textContent("#reason"),
  };
}

test("camera: an allowed code shows a green tick with the name and organization", async () => {
  const browser = await launch(cameraVideo("allow"));
  try {
    const { page, errors } = await openPage(browser);
    const v = await verdict(page, "allow");
    assert.equal(v.verdict, "Allowed");
    assert.equal(v.symbol, "\u2713");
    assert.equal(v.name, "Amira Haddad");
    assert.equal(v.org, "Ministry of Transport (MOT)");
    const decoder = await page.getAttribute("body", "data-decoder");
    assert.ok(["jsQR", "BarcodeDetector"].includes(decoder), decoder);
    await page.screenshot({ path: join(screenshots, "gate-allow.png") });
    // Then back to ready for the next person.
    await verdict(page, "ready");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("camera: a revoked ID's code shows a red cross and the reason in words", async () => {
  const browser = await launch(cameraVideo("deny"));
  try {
    const { page, errors } = await openPage(browser);
    const v = await verdict(page, "deny");
    assert.equal(v.verdict, "Denied");
    assert.equal(v.symbol, "\u2717");
    assert.equal(v.reason, "ID has been revoked");
    assert.equal(await page.getAttribute("#reason", "data-reason"), "revoked");
    assert.equal(v.name, "");
    await page.screenshot({ path: join(screenshots, "gate-deny.png") });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("keyboard-wedge scanner: typed code + Enter, field keeps focus", async () => {
  const browser = await launch(null);
  try {
    const { page, errors } = await openPage(browser);
    assert.equal(await page.evaluate(() => document.activeElement.id), "code");
    const allow = execFileSync(demo, ["code", dir, "allow"]).toString().trim();
    await page.keyboard.type(allow, { delay: 0 });
    await page.keyboard.press("Enter");
    const v = await verdict(page, "allow");
    assert.equal(v.name, "Amira Haddad");
    await verdict(page, "ready");
    assert.equal(await page.evaluate(() => document.activeElement.id), "code");
    // The same code again is a replay.
    await page.keyboard.type(allow, { delay: 0 });
    await page.keyboard.press("Enter");
    assert.equal((await verdict(page, "deny")).reason, "Code already used: show a fresh code");
    await verdict(page, "ready");
    const deny = execFileSync(demo, ["code", dir, "deny"]).toString().trim();
    await page.fill("#code", deny);
    await page.press("#code", "Enter");
    assert.equal((await verdict(page, "deny")).reason, "ID has been revoked");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
