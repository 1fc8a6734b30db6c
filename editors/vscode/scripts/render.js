// Renders a .roo file as HTML coloured by this extension's TextMate grammar, tokenized by
// vscode-textmate with the Oniguruma engine (what VS Code itself uses), in the colours of
// VS Code's Dark+ theme. Used for the README's picture: `make screenshot`.
// Usage: node scripts/render.js FILE.roo > page.html
"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const DARK_PLUS = [  // scope prefix -> colour, first match wins
  ["comment", "#6A9955"], ["string", "#CE9178"], ["constant.numeric", "#B5CEA8"],
  ["constant.other.date", "#B5CEA8"], ["constant.other.country", "#4FC1FF"],
  ["constant.language", "#569CD6"], ["storage.type", "#569CD6"], ["keyword.control", "#C586C0"],
  ["keyword.operator", "#D4D4D4"], ["support.function", "#DCDCAA"], ["support.constant", "#4EC9B0"],
];

function colour(scopes) {
  for (let i = scopes.length - 1; i >= 0; i--) {
    for (const [prefix, value] of DARK_PLUS) {
      if (scopes[i].startsWith(prefix)) return value;
    }
  }
  return "#D4D4D4";
}

function escape(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

async function main() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => {
      const file = path.join(__dirname, "..", "syntaxes", "roo.tmLanguage.json");
      return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.roo");
  const lines = fs.readFileSync(process.argv[2], "utf8").split("\n");
  let state = vsctm.INITIAL;
  const out = [];
  lines.forEach((line, n) => {
    const result = grammar.tokenizeLine(line, state);
    const spans = result.tokens.map((t) =>
      `<span style="color:${colour(t.scopes)}">${escape(line.substring(t.startIndex, t.endIndex))}</span>`);
    out.push(`<span class="n">${n + 1}</span>${spans.join("")}`);
    state = result.ruleStack;
  });
  process.stdout.write(`<!doctype html><meta charset="utf-8"><title>${escape(path.basename(process.argv[2]))}</title>
<style>body{margin:0;background:#1E1E1E}pre{margin:0;padding:12px 16px;font:14px/1.5 "DejaVu Sans Mono",monospace;color:#D4D4D4}
.n{display:inline-block;width:2.5em;margin-right:1.5em;text-align:right;color:#858585}
.bar{background:#2D2D2D;color:#CCCCCC;font:13px sans-serif;padding:8px 16px}</style>
<div class="bar">${escape(path.basename(process.argv[2]))}</div><pre>${out.join("\n")}</pre>
`);
}

main().catch((err) => { console.error(err); process.exit(1); });
