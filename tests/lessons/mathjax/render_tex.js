// Typesets TeX with MathJax 3 (the engine JupyterLab uses) and reports every error.
// Input on stdin: a JSON list of {"key": ..., "tex": ..., "display": bool}.
// Output on stdout: a JSON list of {"key": ..., "error": message} for the items that fail.
// The "noerrors" and "noundefined" packages are left out on purpose: with them MathJax would
// draw a failing formula as red source text instead of raising, which is what a reader sees.
"use strict";

const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { SVG } = require("mathjax-full/js/output/svg.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");

const packages = AllPackages.filter((name) => name !== "noerrors" && name !== "noundefined");

const adaptor = liteAdaptor();
RegisterHTMLHandler(adaptor);

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const items = JSON.parse(input);
  const failures = [];
  // One document for all formulas, as in a JupyterLab page (a \newcommand would carry over
  // there too); an error in one formula does not stop the others.
  const tex = new TeX({
    packages,
    formatError: (jax, err) => {
      throw err;
    },
  });
  const doc = mathjax.document("", { InputJax: tex, OutputJax: new SVG({ fontCache: "none" }) });
  for (const item of items) {
    try {
      doc.convert(item.tex, { display: Boolean(item.display) });
    } catch (err) {
      failures.push({ key: item.key, error: String(err && err.message ? err.message : err) });
    }
  }
  process.stdout.write(JSON.stringify(failures));
});
