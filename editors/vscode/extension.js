// The VS Code client of `origin-rules lsp`: starts the server over stdio for .roo files and
// passes it the settings (origin-rules.rulebooks, origin-rules.ruleTests). Plain JavaScript:
// nothing to compile.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("origin-rules");
  const [command, ...args] = config.get("server.command", ["origin-rules", "lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "roo" }],
    initializationOptions: {
      rulebooks: config.get("rulebooks", []),
      ruleTests: config.get("ruleTests", true),
    },
    synchronize: {
      // rule files added, changed or removed outside the editor, and rule tests saved
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.roo,*.test.yaml,*.test.yml}"),
    },
  };
  client = new LanguageClient("origin-rules", "origin-rules", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("origin-rules")) {
        vscode.window.showInformationMessage("origin-rules: reload the window to apply the new settings.");
      }
    })
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
