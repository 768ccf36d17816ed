// Small helpers to build DOM nodes. Text always goes in as text nodes
// (append of a string, textContent): record text is never parsed as HTML.

/**
 * el('a', {href, class: 'x', text: 'hi', dataset: {id}}, child, 'text', …)
 * builds an element. Props: class, text, dataset, style (object), on<event>
 * (function); any other prop becomes an attribute (true → empty attribute,
 * null/undefined/false → omitted). Children: nodes or strings (as text), arrays
 * are flattened, null/false skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) node.dataset[k] = String(v);
      }
    } else if (key === 'style') Object.assign(node.style, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

/** Appends nodes or strings (as text) to parent; arrays are flattened. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** Removes every child of node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Returns the element with that id, or throws a message naming it. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/** True when url is an absolute http: or https: URL (safe to link to). */
export function isHttpUrl(url) {
  if (typeof url !== 'string') return false;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Escapes text for the few Leaflet APIs that only take HTML strings (attribution). */
export function escapeHTML(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

/** Returns a function that runs fn once calls have stopped for ms milliseconds. */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** Splits "a, b ,c" into ["a","b","c"], dropping empty items. */
export function splitList(text) {
  return String(text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
