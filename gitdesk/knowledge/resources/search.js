/* gitdesk site search: runs in the browser over window.GITDESK_SEARCH
   (assets/search-index.js). Results are built as DOM nodes with textContent,
   never as HTML, so nothing from a ticket can run. */
(function () {
  "use strict";
  var docs = window.GITDESK_SEARCH || [];
  var input = document.getElementById("q");
  var list = document.getElementById("results");
  if (!input || !list) { return; }

  /* Lower case without accents, as the command line's search: "ecran" finds "Écran". Each
     character keeps its length, so a place found in the folded text is the same in the text. */
  function fold(text) {
    var out = "";
    for (var ch of text.normalize("NFC").toLowerCase()) {  /* "o" + U+0308 as typed elsewhere: one "ö" */
      var base = ch.normalize("NFD").replace(/\p{M}+/gu, "");
      out += base.length === ch.length ? base : ch;
    }
    return out;
  }
  function words(text) {
    return (fold(text).match(/[\p{L}\p{N}]+/gu) || []).filter(function (w) { return w.length > 1; });
  }
  var prepared = docs.map(function (doc) {
    return { doc: doc, title: fold(doc.t), text: fold(doc.t + " " + doc.x) };
  });

  function score(entry, terms) {
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var term = terms[i];
      var inText = entry.text.indexOf(term);
      if (inText < 0) { return 0; }          /* every word must be there */
      total += 1;
      if (entry.title.indexOf(term) >= 0) { total += 3; }
    }
    return total;
  }

  function snippet(text, term) {
    var at = fold(text).indexOf(term);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "…" : "") + text.slice(start, start + 180) + "…";
  }

  function show() {
    var terms = words(input.value);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!terms.length) { return; }
    var found = prepared.map(function (entry) { return { entry: entry, score: score(entry, terms) }; })
      .filter(function (hit) { return hit.score > 0; })
      .sort(function (a, b) { return b.score - a.score || a.entry.doc.t.localeCompare(b.entry.doc.t); });
    var hits = found.slice(0, 20);
    if (!hits.length) {
      var none = document.createElement("li");
      none.textContent = "No article matches.";
      list.appendChild(none);
      return;
    }
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.entry.doc.u;
      link.textContent = hit.entry.doc.t;
      var where = document.createElement("small");
      where.textContent = " " + hit.entry.doc.c;
      var text = document.createElement("p");
      text.textContent = snippet(hit.entry.doc.x, terms[0]);
      item.appendChild(link);
      item.appendChild(where);
      item.appendChild(text);
      list.appendChild(item);
    });
    if (found.length > hits.length) {
      var more = document.createElement("li");
      more.textContent = (found.length - hits.length) + " more match: add a word to narrow the search.";
      list.appendChild(more);
    }
  }

  input.addEventListener("input", show);
  input.form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
  function fromHash() {
    if (location.hash.indexOf("#q=") !== 0) {
      return;
    }
    try {
      input.value = decodeURIComponent(location.hash.slice(3));
    } catch (error) {  // a malformed link (#q=%E0): its text as written
      input.value = location.hash.slice(3);
    }
    show();
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
}());
