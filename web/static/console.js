// tierzero console: the only script. Pages work without it; it asks before
// a form marked data-confirm is sent.
document.addEventListener("submit", function (e) {
  var f = e.target;
  var q = f.getAttribute("data-confirm") || (e.submitter && e.submitter.getAttribute("data-confirm"));
  if (q && !window.confirm(q)) { e.preventDefault(); }
});
