// Shared by the browser tests: a demo gate (`gate_demo setup`) run by the real `govid-verifier
// serve`, headless Chromium (Debian's, driven by playwright-core), and what the guard sees.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const verifier = process.env.GOVID_VERIFIER;
export const demo = process.env.GATE_DEMO;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
assert.ok(verifier && demo, "set GOVID_VERIFIER and GATE_DEMO (run.sh does)");

/** The page's string tables, as shipped. */
export const tables = {
  en: JSON.parse(readFileSync(join(repo, "verifier-server/static/i18n/en.json"), "utf8")),
  ko: JSON.parse(readFileSync(join(repo, "verifier-server/static/i18n/ko.json"), "utf8")),
};

// The README's screenshots are replaced only when asked (UPDATE_SCREENSHOTS=1); otherwise they
// are still taken, into a scratch directory.
const scratch = mkdtempSync(join(tmpdir(), "govid-browser-shots-"));
export const screenshots = process.env.UPDATE_SCREENSHOTS === "1"
  ? join(repo, "docs", "screenshots") : scratch;
mkdirSync(screenshots, { recursive: true });
// The scratch screenshots go with the run.
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

const gates = [];

/**
 * A demo gate in a fresh directory: `gate_demo setup`, then `serve` with the config `edit`
 * returns (from the demo's gate.toml and the directory) and the extra `args`.
 */
export async function startGate({ edit = null, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "govid-browser-"));
  execFileSync(demo, ["setup", dir, "0"]);
  let config = join(dir, "gate.toml");
  if (edit) {
    const text = edit(readFileSync(config, "utf8"), dir);
    config = join(dir, "gate-test.toml");
    writeFileSync(config, text);
  }
  const server = spawn(verifier, ["serve", "--config", config, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  server.stderr.on("data", (d) => { stderr += d; });
  const base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("gate did not start: " + stderr)), 20000);
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) { clearTimeout(timer); ok("http://" + m[1]); }
    });
    server.on("exit", (code) => { clearTimeout(timer); fail(new Error(`gate exited ${code}: ${stderr}`)); });
  });
  const gate = {
    dir, base, server,
    port: new URL(base).port,
    /** A fresh code from the demo wallet `who` (allow | deny). */
    code: (who) => execFileSync(demo, ["code", dir, who]).toString().trim(),
    /** A fresh code from `who`, as a fake-camera video (.y4m). */
    video: (who) => {
      const path = join(dir, `${who}-${Date.now()}.y4m`);
      execFileSync(demo, ["y4m", dir, who, path]);
      return path;
    },
    health: async () => (await fetch(base + "/healthz")).json(),
    stderr: () => stderr,
  };
  gates.push(gate);
  return gate;
}

export function stopGates() {
  for (const g of gates.splice(0)) {
    g.server.kill("SIGTERM");
    rmSync(g.dir, { recursive: true, force: true });
  }
}

/** Chromium whose camera shows `video` (a .y4m file), or no camera at all. */
export async function launch(video, extraArgs = []) {
  const args = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", ...extraArgs,
  ];
  if (video) {
    args.push("--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${video}`);
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

/**
 * The page at `url` (default the gate's), once its strings are loaded. `errors` collects page
 * errors, requests to anything but the gate (the page works offline), and CSP violations.
 */
export async function openPage(browser, gate, { viewport = { width: 1000, height: 820 },
  locale = "en-US", url = gate.base + "/", before = null, camera = true } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const origin = new URL(url).origin;
  // Chromium grants the camera only to a secure context.
  if (camera) { await context.grantPermissions(["camera"], { origin }); }
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => {
    if (!r.url().startsWith(origin)) { errors.push("external request: " + r.url()); }
  });
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) { errors.push("CSP: " + m.text()); }
  });
  if (before) { await before(page); }
  await page.goto(url);
  await page.waitForSelector("html[data-lang]");
  return { page, errors };
}

/** What the guard sees once the page is in `state`. */
export async function verdict(page, state) {
  await page.waitForSelector(`body[data-state="${state}"]`, { timeout: 30000 });
  return seen(page);
}

export async function seen(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    const result = document.getElementById("result");
    const style = getComputedStyle(result);
    return {
      state: document.body.dataset.state,
      className: result.className,
      code: result.dataset.reason,
      background: style.backgroundColor,
      color: style.color,
      symbol: text("symbol"), verdict: text("verdict"), name: text("name"), org: text("org"),
      reason: text("reason"), todo: text("todo"),
      // A string table key on screen is a string the page's language lacks.
      keysShown: document.body.innerText.match(/\b(ui|verdict|ready|camera|health|allow|reason|do)\.[a-z_.]+\b/g),
    };
  });
}

/** Types `code` into the scanner field and presses Enter, as a keyboard-wedge scanner does. */
export async function scan(page, code) {
  await page.fill("#code", code);
  await page.press("#code", "Enter");
}

// WCAG contrast ratio of two `rgb(r, g, b)` colours.
export function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/\d+/g).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The colours of the three verdicts (app.css). */
export const COLOURS = {
  allow: "rgb(11, 107, 43)",
  deny: "rgb(164, 22, 26)",
  retry: "rgb(242, 183, 5)",
};

/** Asserts the page shows `state` in its colour, legibly, with the expected words. */
export function assertVerdict(v, state, lang, { reason = null, todo = null } = {}) {
  const t = tables[lang];
  assert.equal(v.state, state, JSON.stringify(v));
  assert.equal(v.keysShown, null, "string keys on screen");
  assert.equal(v.className, "result " + state);
  assert.equal(v.background, COLOURS[state]);
  assert.ok(contrast(v.background, v.color) >= 4.5, `contrast ${v.background} on ${v.color}`);
  assert.equal(v.verdict, t["verdict." + state]);
  assert.equal(v.symbol, { allow: "\u2713", deny: "\u2717", retry: "\u21BB" }[state]);
  if (reason) { assert.equal(v.reason, t["reason." + reason]); }
  if (todo) { assert.equal(v.todo, t["do." + todo]); }
}
