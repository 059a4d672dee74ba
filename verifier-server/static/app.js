// govid gate page: camera (BarcodeDetector, else the bundled jsQR) or keyboard-wedge scanner ->
// POST /v1/verify -> a large verdict in one of three states, each with a symbol, words and an
// instruction for the guard -> back to "Ready" after a few seconds. Green "allow"; red "deny"
// (the ID must not pass); amber "retry" (nothing is known against the person: a fresh code, a
// moment's wait or the operator will settle it). The gate's own health (/healthz) is polled and
// shown in a banner. Strings come from /static/i18n/<lang>.json (en, ko), chosen by the gate's
// [gate] language, else the browser's languages. No third-party code besides the vendored jsQR;
// nothing is stored in the browser.
(function () {
  "use strict";

  var RESET_MS = 4000;        // how long a verdict stays on screen
  var SAME_CODE_MS = 6000;    // ignore the same code seen again by the camera within this time
  var SCAN_EVERY_MS = 120;
  var VERIFY_TIMEOUT_MS = 10000;
  var HEALTH_EVERY_MS = 15000;
  var LANGUAGES = ["en", "ko"];

  // Every reason the gate answers, as [state, reason.* string, do.* instruction]. A reason not
  // listed here is a deny with the generic "reason.unknown" / "do.unknown".
  var DENY_FORGED = ["deny", "forged", "refuse"];
  var DENY_DISCLOSURES = ["deny", "disclosures", "refuse"];
  var DENY_KEY_BINDING = ["deny", "key_binding", "refuse"];
  var DENY_STATUS_MALFORMED = ["deny", "status_malformed", "refuse_hr"];
  var REASONS = {
    // Try again: nothing is known against the holder.
    bad_qr: ["retry", "bad_qr", "scan_again"],
    bad_utf8: ["retry", "bad_qr", "scan_again"],
    replayed: ["retry", "replayed", "fresh_code"],
    code_before_restart: ["retry", "code_before_restart", "fresh_code"],
    kb_iat: ["retry", "kb_iat", "clock"],
    challenge_unknown: ["retry", "challenge_unknown", "challenge"],
    kb_nonce: ["retry", "kb_nonce", "challenge"],
    status_unknown: ["retry", "status_unknown", "operator"],
    issuer_resolution: ["retry", "issuer_resolution", "operator"],
    replay_cache_full: ["retry", "replay_cache_full", "operator"],
    rate_limited: ["retry", "rate_limited", "wait"],
    client_connection_limit: ["retry", "rate_limited", "wait"],
    timeout: ["retry", "replay_cache_full", "wait"],
    too_many_challenges: ["retry", "replay_cache_full", "wait"],
    client_challenge_limit: ["retry", "rate_limited", "wait"],
    bad_json: ["retry", "gate_error", "operator"],
    unsupported_media_type: ["retry", "gate_error", "operator"],
    network: ["retry", "network", "operator"],
    // Deny: the ID must not pass.
    kb_aud: ["deny", "kb_aud", "other_gate"],
    revoked: ["deny", "revoked", "refuse"],
    suspended: ["deny", "suspended", "refuse_hr"],
    status_other: ["deny", "status_other", "refuse_hr"],
    status_claim_missing: ["deny", "status_claim_missing", "refuse_hr"],
    status_list_reference_missing: DENY_STATUS_MALFORMED,
    status_reference_invalid: DENY_STATUS_MALFORMED,
    status_index_out_of_range: DENY_STATUS_MALFORMED,
    status_bits: DENY_STATUS_MALFORMED,
    status_value_too_large: DENY_STATUS_MALFORMED,
    status_revocation_final: DENY_STATUS_MALFORMED,
    status_too_many_entries: DENY_STATUS_MALFORMED,
    status_decompressed_too_large: DENY_STATUS_MALFORMED,
    status_compression: DENY_STATUS_MALFORMED,
    status_encoding: DENY_STATUS_MALFORMED,
    status_list_full: DENY_STATUS_MALFORMED,
    expired: ["deny", "expired", "refuse_hr"],
    not_yet_valid: ["deny", "not_yet_valid", "refuse_hr"],
    iat_in_future: ["deny", "not_yet_valid", "refuse_hr"],
    untrusted_issuer: ["deny", "untrusted_issuer", "refuse"],
    unknown_issuer_key: ["deny", "unknown_issuer_key", "refuse_operator"],
    vct_not_accepted: ["deny", "vct_not_accepted", "refuse"],
    missing_claim: ["deny", "missing_claim", "share"],
    bad_signature: DENY_FORGED,
    key_mismatch: DENY_FORGED,
    alg_none: DENY_FORGED,
    alg_not_allowed: DENY_FORGED,
    crit: DENY_FORGED,
    malformed_jwt: DENY_FORGED,
    malformed: DENY_FORGED,
    malformed_payload: DENY_FORGED,
    typ: DENY_FORGED,
    too_large: DENY_FORGED,
    json_too_deep: DENY_FORGED,
    time_claim_malformed: DENY_FORGED,
    sd_alg: DENY_DISCLOSURES,
    disclosure_malformed: DENY_DISCLOSURES,
    disclosure_duplicate: DENY_DISCLOSURES,
    disclosure_unreferenced: DENY_DISCLOSURES,
    disclosure_wrong_kind: DENY_DISCLOSURES,
    digest_repeated: DENY_DISCLOSURES,
    digest_reference_malformed: DENY_DISCLOSURES,
    reserved_claim_name: DENY_DISCLOSURES,
    claim_collision: DENY_DISCLOSURES,
    too_many_disclosures: DENY_DISCLOSURES,
    vc_claim_disclosed: DENY_DISCLOSURES,
    kb_missing: DENY_KEY_BINDING,
    kb_unexpected: DENY_KEY_BINDING,
    kb_signature: DENY_KEY_BINDING,
    kb_typ: DENY_KEY_BINDING,
    kb_malformed: DENY_KEY_BINDING,
    kb_alg_none: DENY_KEY_BINDING,
    kb_alg_not_allowed: DENY_KEY_BINDING,
    holder_key: DENY_KEY_BINDING,
    sd_hash: DENY_KEY_BINDING
  };
  var UNKNOWN_REASON = ["deny", "unknown", "unknown"];
  var SYMBOLS = { ready: "\u25CE", checking: "\u2026", allow: "\u2713", deny: "\u2717", retry: "\u21BB" };

  var $ = function (id) { return document.getElementById(id); };
  var result = $("result"), symbol = $("symbol"), verdict = $("verdict");
  var nameEl = $("name"), orgEl = $("org"), reasonEl = $("reason"), todoEl = $("todo");
  var video = $("video"), canvas = $("frame"), cameraStatus = $("camera-status");
  var form = $("manual"), input = $("code");

  var inFlight = false, resetTimer = null, holdUntil = 0, lastText = "", lastAt = 0;
  var detector = null, strings = {}, fallback = {}, cameraKey = ["camera.starting", {}];
  var health = null, healthReached = true, shown = null;

  // A string of the page's language (else English, else its key), with {name} filled in.
  function t(key, vars) {
    var s = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key]
      : Object.prototype.hasOwnProperty.call(fallback, key) ? fallback[key] : key;
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined ? String(vars[k]) : m;
    });
  }

  function text(el, value) { el.textContent = value || ""; }

  function chooseLanguage(configured) {
    if (LANGUAGES.indexOf(configured) >= 0) { return configured; }
    var wanted = (navigator.languages && navigator.languages.length) ? navigator.languages
      : [navigator.language || "en"];
    for (var i = 0; i < wanted.length; i++) {
      var base = String(wanted[i]).toLowerCase().split("-")[0];
      if (LANGUAGES.indexOf(base) >= 0) { return base; }
    }
    return "en";
  }

  function table(lang) {
    return fetch("/static/i18n/" + lang + ".json", { cache: "no-cache" }).then(function (r) {
      return r.ok ? r.json() : {};
    }).catch(function () { return {}; });
  }

  // Static labels, then whatever is on screen, in the page's language.
  function applyStrings() {
    var els = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < els.length; i++) { text(els[i], t(els[i].dataset.i18n)); }
    els = document.querySelectorAll("[data-i18n-aria]");
    for (i = 0; i < els.length; i++) { els[i].setAttribute("aria-label", t(els[i].dataset.i18nAria)); }
    els = document.querySelectorAll("[data-i18n-alt]");
    for (i = 0; i < els.length; i++) { els[i].alt = t(els[i].dataset.i18nAlt); }
    if (shown) { render(shown); }
    text(cameraStatus, t(cameraKey[0], cameraKey[1]));
    renderHealth();
  }

  // What the result panel shows: {state, name, org, reason: [key, vars], todo}.
  function render(v) {
    shown = v;
    document.body.dataset.state = v.state;
    result.className = "result " + v.state;
    result.dataset.reason = v.code || "";
    text(symbol, SYMBOLS[v.state]);
    text(verdict, t("verdict." + v.state));
    text(nameEl, v.name || (v.state === "ready" ? t("ready.prompt") : ""));
    text(orgEl, v.org);
    text(reasonEl, v.reason ? t(v.reason[0], v.reason[1]) : "");
    text(todoEl, v.todo ? t(v.todo) : "");
    reasonEl.dataset.reason = v.code || "";
  }

  function ready() {
    holdUntil = 0;
    render({ state: "ready" });
    input.focus();
  }

  function fullName(d) {
    return [d.given_name, d.family_name].filter(Boolean).join(" ");
  }

  function orgName(d) {
    var o = d.organization || {};
    if (o.name && o.code) { return o.name + " (" + o.code + ")"; }
    return o.name || o.code || "";
  }

  function verdictFor(body) {
    if (body && body.decision === "allow") {
      var d = body.disclosed || {};
      var unknown = body.credential_status === "unknown";
      render({
        state: "allow", code: "ok", name: fullName(d), org: orgName(d),
        reason: unknown ? ["allow.status_unknown"] : null, todo: "do.allow"
      });
    } else {
      var code = String((body && (body.reason || body.error)) || "network");
      var known = Object.prototype.hasOwnProperty.call(REASONS, code);
      var m = known ? REASONS[code] : UNKNOWN_REASON;
      render({
        state: m[0], code: code, reason: ["reason." + m[1], { code: code }], todo: "do." + m[2]
      });
    }
    holdUntil = Date.now() + RESET_MS;
    clearTimeout(resetTimer);
    resetTimer = setTimeout(ready, RESET_MS);
  }

  function check(code) {
    code = (code || "").trim();
    if (!code || inFlight) { return; }
    inFlight = true;
    lastText = code; lastAt = Date.now();
    clearTimeout(resetTimer);
    render({ state: "checking" });
    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (abort) { abort.abort(); } }, VERIFY_TIMEOUT_MS);
    fetch("/v1/verify", {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: code,
      cache: "no-store",
      credentials: "same-origin",
      signal: abort ? abort.signal : undefined
    }).then(function (r) {
      return r.json().catch(function () { return { error: "network" }; });
    }).then(function (body) {
      return body;
    }, function () {
      return { error: "network" };
    }).then(function (body) {
      clearTimeout(timer);
      inFlight = false;
      verdictFor(body);
    });
  }

  // A scan typed into the field is always the guard's: it is checked even while the last
  // verdict is still on screen (the camera waits for the screen to clear instead).
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = input.value;
    input.value = "";
    check(value);
  });

  // Keep the scanner field focused so a keyboard-wedge scanner always types into it.
  document.addEventListener("click", function (e) {
    if (e.target === document.body || e.target === result) { input.focus(); }
  });

  function onCode(code) {
    if (inFlight || !code || Date.now() < holdUntil) { return; }
    if (code === lastText && Date.now() - lastAt < SAME_CODE_MS) { return; }
    check(code);
  }

  function scanLoop() {
    setTimeout(scanLoop, SCAN_EVERY_MS);
    if (inFlight || video.readyState < 2 || !video.videoWidth) { return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes && codes.length) { onCode(codes[0].rawValue); }
      }, function () { detector = null; });
      return;
    }
    if (typeof jsQR !== "function") { return; }
    var w = video.videoWidth, h = video.videoHeight;
    var scale = Math.min(1, 800 / Math.max(w, h));
    w = Math.round(w * scale); h = Math.round(h * scale);
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    var found = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
    if (found && found.data) { onCode(found.data); }
  }

  function cameraMessage(key, vars, notice) {
    cameraKey = [key, vars || {}];
    cameraStatus.className = notice ? "notice" : "muted";
    cameraStatus.dataset.camera = key.split(".")[1];
    text(cameraStatus, t(key, vars));
  }

  function startCamera() {
    // Browsers give the camera only to a secure context (HTTPS, or localhost): say so.
    if (!window.isSecureContext) {
      video.hidden = true;
      cameraMessage("camera.insecure", { host: location.host }, true);
      return;
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      video.hidden = true;
      cameraMessage("camera.missing", null, true);
      return;
    }
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    }).then(function (stream) {
      video.srcObject = stream;
      var p = video.play(); if (p && p.catch) { p.catch(function () {}); }
      var how = "jsQR";
      if ("BarcodeDetector" in window) {
        try {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          how = "BarcodeDetector";
        } catch (e) { detector = null; }
      }
      cameraMessage("camera.on", { how: how }, false);
      document.body.dataset.decoder = how;
      scanLoop();
    }, function () {
      video.hidden = true;
      cameraMessage("camera.unavailable", null, true);
    });
  }

  // The gate's health: a banner naming each problem, hidden while the gate is fine.
  function healthProblems() {
    if (!healthReached) { return [["health.unreachable", "unreachable"]]; }
    if (!health) { return []; }
    var problems = [];
    var lists = health.status_lists || [];
    var stale = lists.filter(function (l) { return l.stale; }).length;
    var failed = lists.filter(function (l) { return l.last_fetch_failed; }).length;
    if (stale) { problems.push(["health.stale", "stale", { count: stale }]); }
    if (failed) { problems.push(["health.fetch_failed", "fetch_failed", { count: failed }]); }
    (health.warnings || []).forEach(function (w) {
      var key = "health.warning." + w;
      var knownWarning = Object.prototype.hasOwnProperty.call(fallback, key);
      problems.push([knownWarning ? key : "health.warning.other", w, { code: w }]);
    });
    if (health.status !== "ok" && !problems.length) { problems.push(["health.degraded", "degraded"]); }
    return problems;
  }

  function renderHealth() {
    text($("gate"), health && health.gate ? t("ui.gate", { gate: health.gate }) : "");
    var box = $("health"), list = $("health-list");
    var problems = healthProblems();
    list.textContent = "";
    problems.forEach(function (p) {
      var li = document.createElement("li");
      li.dataset.problem = p[1];
      text(li, t(p[0], p[2]));
      list.appendChild(li);
    });
    box.hidden = !problems.length;
    document.body.dataset.health = problems.length ? "problem" : "ok";
  }

  function pollHealth() {
    return fetch("/healthz", { cache: "no-store" }).then(function (r) { return r.json(); })
      .then(function (h) {
        health = h; healthReached = true;
        if (h && h.challenge_mode) { $("challenge-box").hidden = false; }
        return h;
      }, function () {
        healthReached = false;
        return null;
      }).then(function (h) {
        renderHealth();
        return h;
      });
  }

  // Challenge mode: show the gate's GVC1 code when the gate offers one.
  $("challenge-button").addEventListener("click", function () {
    fetch("/v1/challenge", { method: "POST", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (c) {
      if (!c || !c.qr_png) { return; }
      $("challenge-img").src = c.qr_png;
      $("challenge-figure").hidden = false;
      input.focus();
    }, function () {});
  });

  pollHealth().then(function (h) {
    var lang = chooseLanguage(h && h.language);
    return Promise.all([table("en"), lang === "en" ? null : table(lang)]).then(function (got) {
      fallback = got[0];
      strings = got[1] || got[0];
      document.documentElement.lang = lang;
      applyStrings();
      ready();
      document.documentElement.dataset.lang = lang;
    });
  }).then(function () {
    startCamera();
    setInterval(pollHealth, HEALTH_EVERY_MS);
  });
})();
