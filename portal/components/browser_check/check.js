// Browser self-check: measured in the admin's own browser, sent back to Python as the
// component's value. No third-party code; every request is a plain fetch.
(function () {
  var cfg = { targets: [], timeout_ms: 6000 };
  var button = document.getElementById("run");
  var status = document.getElementById("status");

  function probe(target, timeoutMs) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs);
    var started = performance.now();
    var url = target.url + (target.url.indexOf("?") === -1 ? "?" : "&") + "connect-check=" + Date.now();
    function done(state) {
      clearTimeout(timer);
      return { name: target.name, url: target.url, status: state, ms: Math.round(performance.now() - started) };
    }
    return fetch(url, { mode: "no-cors", cache: "no-store", credentials: "omit", redirect: "follow", signal: controller.signal })
      .then(function () { return done("reachable"); })
      .catch(function () { return done(controller.signal.aborted ? "timeout" : "blocked"); });
  }

  function popupTest() {
    // Runs inside the click handler, before anything asynchronous, like a real sign-in pop-up.
    try {
      var w = window.open("", "connect_check_popup_test", "width=160,height=120");
      if (!w || w.closed || typeof w.closed === "undefined") return "blocked";
      w.close();
      return "allowed";
    } catch (e) {
      return "blocked";
    }
  }

  function cookieTest() {
    var firstParty = false;
    try {
      document.cookie = "connect_check_test=1; path=/; SameSite=Lax";
      firstParty = document.cookie.indexOf("connect_check_test=1") !== -1;
      document.cookie = "connect_check_test=; path=/; Max-Age=0; SameSite=Lax";
    } catch (e) {
      firstParty = false;
    }
    return {
      enabled: navigator.cookieEnabled === true,
      first_party_ok: firstParty,
      storage_access_api: typeof document.hasStorageAccess === "function",
    };
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = "Checking from your browser…";
    var popups = popupTest();
    var targets = Array.isArray(cfg.targets) ? cfg.targets : [];
    Promise.all(targets.map(function (t) { return probe(t, cfg.timeout_ms || 6000); })).then(function (hosts) {
      var tz = "";
      try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { tz = ""; }
      status.textContent = "Done: the results are below.";
      button.disabled = false;
      StreamlitBridge.setValue({
        version: 1,
        hosts: hosts,
        popups: popups,
        cookies: cookieTest(),
        user_agent: navigator.userAgent,
        brave: !!navigator.brave,
        timezone: tz,
        client_time_ms: Date.now(),
        nonce: Math.random().toString(36).slice(2),
      });
    });
  });

  StreamlitBridge.onRender(function (args) {
    cfg = args.config || cfg;
    StreamlitBridge.setHeight();
  });
  StreamlitBridge.ready();
  StreamlitBridge.setHeight();
})();
