// The few messages of Streamlit's component protocol (v1) that these components use,
// written out so there is no npm package, no build step and no CDN.
(function () {
  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data || {}), "*");
  }
  var handlers = [];
  window.addEventListener("message", function (event) {
    var msg = event.data || {};
    if (msg.type === "streamlit:render") {
      handlers.forEach(function (fn) { fn(msg.args || {}, msg); });
    }
  });
  window.StreamlitBridge = {
    onRender: function (fn) { handlers.push(fn); },
    ready: function () { send("streamlit:componentReady", { apiVersion: 1 }); },
    setHeight: function (h) { send("streamlit:setFrameHeight", { height: Math.ceil(h || document.body.scrollHeight) }); },
    setValue: function (value) { send("streamlit:setComponentValue", { value: value, dataType: "json" }); },
  };
})();
