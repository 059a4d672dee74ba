// The login page: waits for the wallet's answer (server-sent events), then shows who logged in
// or why not, and for an application's login goes on to it.
"use strict";
(function () {
  const root = document.getElementById("login-request");
  const transaction = root.dataset.transaction;
  const client = document.getElementById("client").dataset.client;
  if (client) {
    document.getElementById("client").textContent = "for " + client;
  }
  const show = (id) => {
    for (const s of ["waiting", "accepted", "rejected"]) {
      document.getElementById(s).hidden = s !== id;
    }
  };
  let left = Number(root.dataset.expiresIn) || 0;
  const countdown = document.getElementById("countdown");
  const tick = setInterval(() => {
    left -= 1;
    countdown.textContent = left > 0 ? "This code expires in " + left + " s." : "This code has expired.";
    if (left <= 0) clearInterval(tick);
  }, 1000);
  const name = (claims) =>
    [claims.given_name, claims.family_name].filter((x) => typeof x === "string").join(" ");
  const finish = (result) => {
    clearInterval(tick);
    if (result.result === "accepted") {
      document.getElementById("who").textContent = name(result.claims || {}) || "(no name disclosed)";
      const org = result.claims && result.claims.organization && result.claims.organization.name;
      const position = result.claims && result.claims.position;
      document.getElementById("where").textContent = [position, org].filter(Boolean).join(", ");
      show("accepted");
      root.dataset.state = "accepted";
      if (client && result.continue) {
        window.location.assign(result.continue);
      }
    } else {
      const why = {
        expired: "The code expired before the wallet answered.",
        access_denied: "The request was declined in the wallet.",
        revoked: "This worker ID has been revoked.",
        suspended: "This worker ID is suspended.",
      };
      document.getElementById("why").textContent =
        why[result.error] || "The worker ID was not accepted (" + result.error + ").";
      show("rejected");
      root.dataset.state = "rejected";
      if (client) {
        document.getElementById("retry").href = "/authorize/continue?transaction=" + encodeURIComponent(transaction);
        document.getElementById("retry").textContent = "Back to the application";
      }
    }
  };
  const events = new EventSource("/login/requests/" + encodeURIComponent(transaction) + "/events");
  events.addEventListener("result", (e) => {
    events.close();
    try {
      finish(JSON.parse(e.data));
    } catch (err) {
      finish({ result: "rejected", error: "bad_event" });
    }
  });
  events.onerror = () => {
    // The stream ended without a result (server restarted): ask once more by long poll.
    events.close();
    fetch("/login/requests/" + encodeURIComponent(transaction) + "?wait=25")
      .then((r) => r.json())
      .then((r) => (r.result === "pending" ? null : finish(r)))
      .catch(() => finish({ result: "rejected", error: "network" }));
  };
})();
