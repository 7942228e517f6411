// The "Downstream calls" panel: a GraphiQL plugin drawing, as a waterfall, the
// REST calls the BFF made for the last operation (its `extensions.debug`),
// with the trace id to hand to ops. Plain React.createElement: no build step.
(function () {
  "use strict";
  var h = React.createElement;
  var last = null;
  var listeners = new Set();

  function publish(debug) {
    last = debug;
    listeners.forEach(function (listener) { listener(debug); });
  }

  function useLastDebug() {
    var state = React.useState(last);
    React.useEffect(function () {
      listeners.add(state[1]);
      return function () { listeners.delete(state[1]); };
    }, []);
    return state[0];
  }

  var SOURCE_LABELS = {
    "network": "network",
    "shared": "shared cache",
    "in-flight": "joined a call in flight",
    "stale": "stale cache entry, as the call failed",
    "refused": "not sent",
  };

  function Bar(props) {
    var total = Math.max(props.total, 0.01);
    var left = Math.min(100, (props.call.startMs / total) * 100);
    var width = Math.max(0.5, Math.min(100 - left, (props.call.durationMs / total) * 100));
    return h("div", { className: "bff-bar-track", "aria-hidden": "true" },
      h("div", {
        className: "bff-bar bff-bar-" + props.call.source.replace(/[^a-z]/g, ""),
        style: { marginLeft: left + "%", width: width + "%" },
      }));
  }

  function CopyTraceId(props) {
    var copied = React.useState(false);
    function copy() {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(props.traceId).then(function () { copied[1](true); });
      }
    }
    return h("p", null,
      h("span", { id: "bff-trace-label" }, "Trace id: "),
      h("code", { "aria-labelledby": "bff-trace-label", tabIndex: 0 }, props.traceId),
      " ",
      h("button", { type: "button", className: "bff-button", onClick: copy },
        copied[0] ? "Copied" : "Copy trace id"),
      h("span", { className: "bff-visually-hidden", "aria-live": "polite" },
        copied[0] ? "Trace id copied" : ""));
  }

  function Calls(props) {
    var debug = props.debug;
    var total = debug.durationMs;
    return h("div", { className: "bff-scroll", tabIndex: 0, role: "region",
        "aria-label": "Downstream reads, scrollable" },
      h("table", { className: "bff-calls" },
        h("caption", null, debug.downstream.length + " downstream reads in " + total + " ms"),
        h("thead", null, h("tr", null,
          ["Call and timeline", "Answered by", "Start ms", "Time ms"]
            .map(function (name) { return h("th", { scope: "col", key: name }, name); }))),
        h("tbody", null, debug.downstream.map(function (call, index) {
          var answer = SOURCE_LABELS[call.source] || call.source;
          if (call.ageSeconds !== undefined) { answer += ", " + call.ageSeconds + " s old"; }
          if (call.status || call.error) { answer += " (" + (call.status || call.error) + ")"; }
          if (call.attempt) { answer += ", attempt " + call.attempt; }
          if (call.hedge) { answer += ", hedge"; }
          return h("tr", { key: index },
            h("td", null,
              h("strong", null, call.service), " ",
              h("code", null, call.method + " " + call.route),
              call.batchSize ? " ×" + call.batchSize : "",
              h(Bar, { call: call, total: total })),
            h("td", null, answer),
            h("td", { className: "bff-number" }, call.startMs),
            h("td", { className: "bff-number" }, call.durationMs));
        }))));
  }

  // With @defer or @stream: when each part of the answer went out.
  function Parts(props) {
    return h("table", { className: "bff-calls" },
      h("caption", null, props.parts.length + " parts sent"),
      h("thead", null, h("tr", null,
        ["Part", "Path", "Sent ms"]
          .map(function (name) { return h("th", { scope: "col", key: name }, name); }))),
      h("tbody", null, props.parts.map(function (part, index) {
        return h("tr", { key: index },
          h("td", null, index === 0 ? "initial" : (part.label || "deferred")),
          h("td", null, h("code", null, part.path.join(".") || "(root)")),
          h("td", { className: "bff-number" }, part.sentMs));
      })));
  }

  function Panel() {
    var debug = useLastDebug();
    if (!debug) {
      return h("section", { id: "bff-debug-panel", "aria-labelledby": "bff-debug-title" },
        h("h2", { id: "bff-debug-title" }, "Downstream calls"),
        h("p", null, "Run an operation to see the REST calls behind it."));
    }
    var memo = Object.keys(debug.perRequestCache || {});
    return h("section", { id: "bff-debug-panel", "aria-labelledby": "bff-debug-title" },
      h("h2", { id: "bff-debug-title" }, "Downstream calls"),
      debug.traceId ? h(CopyTraceId, { traceId: debug.traceId }) : null,
      debug.warnings.length
        ? h("ul", { className: "bff-warnings", "aria-label": "Warnings" },
            debug.warnings.map(function (warning, index) { return h("li", { key: index }, warning); }))
        : null,
      h(Calls, { debug: debug }),
      debug.parts ? h(Parts, { parts: debug.parts }) : null,
      memo.length
        ? h("p", null, "Answered from this request's own loaders: " + memo.map(function (name) {
            return name + " ×" + debug.perRequestCache[name];
          }).join(", "))
        : null);
  }

  function Icon() {
    return h("svg", { viewBox: "0 0 24 24", width: 24, height: 24, "aria-hidden": "true",
      fill: "none", stroke: "currentColor", strokeWidth: 1.5 },
      h("path", { d: "M3 6h10M6 12h12M9 18h8" }));
  }

  window.BffDebugPanel = {
    plugin: { title: "Downstream calls", icon: Icon, content: Panel },
    // Takes a result, shows its `extensions.debug` in the panel and returns the
    // result without it, so the result pane shows only what the app would get.
    // GraphiQL's own schema fetches are not shown (`show` false).
    receive: function (result, show) {
      if (!result || !result.extensions || !result.extensions.debug) { return result; }
      if (show) { publish(result.extensions.debug); }
      var extensions = Object.assign({}, result.extensions);
      delete extensions.debug;
      var copy = Object.assign({}, result);
      if (Object.keys(extensions).length) { copy.extensions = extensions; } else { delete copy.extensions; }
      return copy;
    },
  };
})();
