// Mounts GraphiQL from the vendored bundles; its settings come from the page's
// JSON config block, so the page itself runs no inline script.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("bff-config").textContent);
  var props = {
    fetcher: GraphiQL.createFetcher({ url: config.endpoint }),
    defaultTabs: config.tabs,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: true,
  };
  // GraphiQL 3 fills the first tab's query from `defaultTabs` but not its
  // variables or headers; on a first visit (nothing stored yet) pass them too.
  var first = config.tabs[0];
  if (first && window.localStorage.getItem("graphiql:tabState") === null) {
    props.variables = first.variables || undefined;
    props.headers = first.headers || undefined;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props)
  );
})();
