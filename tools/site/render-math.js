// Typeset the page's TeX with the bundled KaTeX ($...$, $$...$$, \(...\), \[...\]),
// the delimiters JupyterLab uses; code cells and outputs (<pre>, <code>) are left alone.
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [
      {left: "$$", right: "$$", display: true},
      {left: "\\[", right: "\\]", display: true},
      {left: "\\(", right: "\\)", display: false},
      {left: "$", right: "$", display: false}
    ],
    throwOnError: false
  });
  document.body.setAttribute("data-math", "done");
});
