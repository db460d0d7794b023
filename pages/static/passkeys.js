// Passkeys for restauth's pages: the sign-in page's "Sign in with a
// passkey" button and the account page's "Add a passkey" form. Each runs a
// WebAuthn ceremony: it asks the server for options, passes them to the
// browser's navigator.credentials, and posts the authenticator's answer
// back as JSON. The server checks everything; this file only carries bytes.
"use strict";

(function () {
  // The WebAuthn API takes and returns bytes; JSON carries them as
  // unpadded base64url.
  function toBytes(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toText(buf) {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  const status = document.getElementById("passkey-status");
  function say(text) {
    if (status) status.textContent = text;
  }

  // post sends body as JSON and returns the answer, or throws an Error
  // whose message is the server's sentence.
  async function post(path, body) {
    let res;
    try {
      res = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
        credentials: "same-origin",
      });
    } catch (e) {
      throw new Error(status ? status.dataset.failed : "");
    }
    let data = {};
    try {
      data = await res.json();
    } catch (e) {
      // An answer without JSON is shown as a failure below.
    }
    if (!res.ok) throw new Error(data.message || (status ? status.dataset.failed : ""));
    return data;
  }

  // browserError turns what navigator.credentials threw into a sentence:
  // a cancel, a timeout and a refused request look alike to the person.
  function browserError(e) {
    return new Error(status ? status.dataset.cancelled : String(e));
  }

  function supported() {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    if (status) say(status.dataset.unsupported);
    return false;
  }

  async function register(name) {
    const begin = await post("/account/passkeys/options");
    const pk = begin.options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    say(status.dataset.working);
    let cred;
    try {
      cred = await navigator.credentials.create({ publicKey: pk });
    } catch (e) {
      throw browserError(e);
    }
    const r = cred.response;
    const done = await post("/account/passkeys", {
      challenge: begin.challenge,
      name: name,
      credential: {
        id: cred.id,
        rawId: toText(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          clientDataJSON: toText(r.clientDataJSON),
          attestationObject: toText(r.attestationObject),
          transports: r.getTransports ? r.getTransports() : [],
        },
      },
    });
    window.location.assign(done.redirect);
  }

  async function signIn(returnTo) {
    const begin = await post("/signin/passkey/options");
    const pk = begin.options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    say(status.dataset.working);
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: pk });
    } catch (e) {
      throw browserError(e);
    }
    const r = cred.response;
    const done = await post("/signin/passkey", {
      challenge: begin.challenge,
      return_to: returnTo,
      credential: {
        id: cred.id,
        rawId: toText(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: {
          clientDataJSON: toText(r.clientDataJSON),
          authenticatorData: toText(r.authenticatorData),
          signature: toText(r.signature),
          userHandle: r.userHandle ? toText(r.userHandle) : undefined,
        },
      },
    });
    window.location.assign(done.redirect);
  }

  // run keeps one ceremony at a time per control and shows its failure.
  function run(control, fn) {
    if (control.disabled || !supported()) return;
    control.disabled = true;
    fn().catch(function (e) {
      say(e.message);
      control.disabled = false;
    });
  }

  const signinButton = document.getElementById("passkey-signin");
  if (signinButton) {
    signinButton.addEventListener("click", function () {
      const back = document.querySelector("input[name=return_to]");
      run(signinButton, function () { return signIn(back ? back.value : ""); });
    });
  }

  const addForm = document.getElementById("passkey-add");
  if (addForm) {
    addForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const button = addForm.querySelector("button");
      const name = addForm.querySelector("input[name=passkey_name]").value;
      run(button, function () { return register(name); });
    });
  }
})();
