// The page fits a guard's phone (390x844) and a tablet (1024x768): nothing wider than the
// screen, the verdict and the Check button fully visible, at rest and with a verdict showing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startGate, stopGates, launch, openPage, verdict, scan, screenshots } from "./harness.mjs";

let gate;
before(async () => { gate = await startGate(); });
after(stopGates);

/** Where the verdict and the Check button are, and how wide the page is. */
function geometry(page) {
  return page.evaluate(() => {
    const box = (sel) => {
      const r = document.querySelector(sel).getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    };
    const verdict = document.getElementById("verdict");
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth, innerHeight,
      verdict: box("#verdict"),
      // The word itself, not its box: a clipped word is wider than its box.
      verdictOverflows: verdict.scrollWidth > verdict.clientWidth,
      result: box("#result"),
      check: box("#check"),
      input: box("#code"),
    };
  });
}

function assertInside(g, what, size) {
  const b = g[what];
  assert.ok(b.left >= 0 && b.top >= 0 && b.right <= g.innerWidth && b.bottom <= g.innerHeight,
    `${what} ${JSON.stringify(b)} outside ${size.width}x${size.height}`);
}

function assertFits(g, size) {
  assert.equal(g.innerWidth, size.width);
  assert.ok(g.scrollWidth <= g.innerWidth, `page is ${g.scrollWidth}px wide at ${g.innerWidth}px`);
  assertInside(g, "verdict", size);
  assertInside(g, "result", size);
  assertInside(g, "check", size);
  assert.equal(g.verdictOverflows, false, "the verdict word is clipped");
  assert.ok(g.input.right - g.input.left >= 150, `scanner field ${JSON.stringify(g.input)} too narrow`);
}

for (const [size, lang] of [
  [{ width: 390, height: 844 }, "en-US"],
  [{ width: 390, height: 844 }, "ko-KR"],
  [{ width: 1024, height: 768 }, "en-US"],
]) {
  test(`${size.width}x${size.height} (${lang}): fits at rest, with the camera, and with each verdict`, async () => {
    // A camera, so the preview takes its place on the page.
    const browser = await launch(gate.video("deny"));
    try {
      const { page, errors } = await openPage(browser, gate, { viewport: size, locale: lang });
      await page.waitForSelector("#camera-status[data-camera=on]");
      // The camera's verdict first (a revoked ID), then typed codes.
      await verdict(page, "deny");
      assertFits(await geometry(page), size);
      await verdict(page, "ready");
      assertFits(await geometry(page), size);
      const allow = gate.code("allow");
      await scan(page, allow);
      await verdict(page, "allow");
      assertFits(await geometry(page), size);
      if (size.width === 390 && lang === "en-US") {
        await page.screenshot({ path: join(screenshots, "gate-phone-allow.png") });
      }
      await scan(page, allow);
      await verdict(page, "retry");
      assertFits(await geometry(page), size);
      if (size.width === 390 && lang === "en-US") {
        await page.screenshot({ path: join(screenshots, "gate-phone-retry.png") });
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}
