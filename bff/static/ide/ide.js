// Mounts GraphiQL from the vendored bundles; its settings come from the page's
// JSON config block, so the page itself runs no inline script.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("bff-config").textContent);
  // Incremental delivery on: GraphiQL asks for multipart/mixed, and a document
  // with @defer or @stream fills the result pane in as its parts arrive (the
  // fetcher then answers with an async iterable of payloads, or of arrays of
  // them). Subscriptions go over a WebSocket on the same path, with the
  // graphql-ws client GraphiQL bundles; the Headers tab (its Authorization)
  // becomes the connection_init payload.
  var socket = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + config.endpoint;
  var send = GraphiQL.createFetcher({
    url: config.endpoint,
    subscriptionUrl: socket,
    enableIncrementalDelivery: true,
  });
  // Each payload through the debug panel, however the fetcher delivers them.
  function received(result, show) {
    if (Array.isArray(result)) {
      return result.map(function (part) { return BffDebugPanel.receive(part, show); });
    }
    if (result && typeof result[Symbol.asyncIterator] === "function") {
      var source = result[Symbol.asyncIterator]();
      var mapped = {
        next: function () {
          return source.next().then(function (step) {
            return step.done ? step : { done: false, value: received(step.value, show) };
          });
        },
        return: function (value) {
          return source.return ? source.return(value) : Promise.resolve({ done: true, value: value });
        },
      };
      mapped[Symbol.asyncIterator] = function () { return mapped; };
      return mapped;
    }
    return BffDebugPanel.receive(result, show);
  }
  // GraphiQL parses the editor's document 100 ms after it last changed (a tab
  // switch, a paste) and takes the operation name, and whether to send it
  // over the WebSocket, from that parse: a run sooner names the previous
  // document's operation and sends a subscription over HTTP. So both are
  // taken from the document actually sent.
  function parsed(query) {
    try {
      return GraphiQL.GraphQL.parse(query);
    } catch (error) {
      return null;  // sent as it is: the server answers with the syntax error
    }
  }
  function operationIn(ast, name) {
    var names = ast.definitions
      .filter(function (definition) { return definition.kind === "OperationDefinition"; })
      .map(function (operation) { return operation.name ? operation.name.value : null; });
    if (names.indexOf(name) >= 0) {
      return name;
    }
    return names.length === 1 ? names[0] : null;
  }
  function fetcher(params, options) {
    var ast = parsed(params.query);
    if (ast) {
      params = Object.assign({}, params, { operationName: operationIn(ast, params.operationName) });
      options = Object.assign({}, options, { documentAST: ast });
    }
    if (config.debug) {
      // Ask for the downstream timeline; the panel shows it, the result pane does not.
      options = Object.assign({}, options);
      options.headers = Object.assign({ "X-BFF-Debug": "1" }, options.headers || {});
      var introspection = params.operationName === "IntrospectionQuery";
      return Promise.resolve(send(params, options)).then(function (result) {
        return received(result, !introspection);
      });
    }
    return send(params, options);
  }
  var props = {
    fetcher: fetcher,
    defaultTabs: config.tabs,
    plugins: config.debug
      ? [BffDebugPanel.plugin, GraphiQLPluginExplorer.explorerPlugin()]
      : [GraphiQLPluginExplorer.explorerPlugin()],
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: true,
  };
  // GraphiQL 3 opens on the tab whose query, variables and headers match
  // these props, and adds a tab when none does. So pass the tab it would show:
  // on a first visit the first example (`defaultTabs` fills only its query),
  // afterwards the active tab as stored, so a reload adds no empty copy of it.
  var shown = config.tabs[0];
  try {
    var stored = JSON.parse(window.localStorage.getItem("graphiql:tabState"));
    if (stored && stored.tabs && stored.tabs.length) {
      shown = stored.tabs[stored.activeTabIndex] || stored.tabs[0];
    }
  } catch (unreadable) {
    // Nothing usable stored: GraphiQL starts from the examples.
  }
  if (shown) {
    props.query = shown.query || "";
    props.variables = shown.variables || "";
    props.headers = shown.headers || "";
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props)
  );
})();
