// Signing in with a token: a dialog to paste one (or forget it), for people
// who did not arrive through the link that carries it. The token is kept
// for this tab only (sessionStorage).

import { getToken, setToken } from './api.js';
import { el } from './dom.js';

/**
 * Wires the sign-in button and dialog. onChange() runs after the token
 * changed (the caller re-reads the role and reconnects).
 */
export function setupSignIn({ button, dialog, input, forget }, onChange) {
  button.addEventListener('click', () => {
    input.value = '';
    forget.hidden = !getToken();
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    input.focus();
  });
  dialog.addEventListener('close', () => {
    const action = dialog.returnValue;
    if (action === 'save' && input.value.trim()) {
      setToken(input.value.trim());
      onChange();
    } else if (action === 'forget') {
      setToken(null);
      onChange();
    }
    input.value = '';
    button.focus();
  });
}

/** Shows who is signed in on the button: "Sign in", or the role. */
export function showRole(button, role) {
  const token = getToken();
  if (!token) button.textContent = 'Sign in';
  else if (!role) button.textContent = 'Signed in';
  else button.replaceChildren(el('span', { class: 'tb-long', text: 'Signed in: ' }), role);
  button.dataset.role = role || '';
}
