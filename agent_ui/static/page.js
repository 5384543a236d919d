// What the live pages (console, supervisor) share: building elements (text only, never
// innerHTML) and the message line under the header. Loaded before each page's script.
window.SentralPage = (function () {
  "use strict";
  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // a message function for the box with this id: say(text, kind) ("" hides it)
  function messages(boxId) {
    return function say(text, kind) {
      const box = document.getElementById(boxId);
      box.textContent = text;
      box.className = "message " + (kind || "info");
      box.hidden = !text;
    };
  }
  return { el: el, clear: clear, messages: messages };
})();
