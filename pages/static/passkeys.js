// Passkeys for restauth's pages: the sign-in page's "Sign in with a
// passkey" button, the second step's "Use a passkey" button and the
// account page's "Add a passkey" form. Each runs a
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

  // ceremony runs one WebAuthn ceremony: it gets the options from begin
  // (posting beginBody), passes them to the browser's create or get
  // (call), and posts the authenticator's answer (the response's fields
  // named) to finish with the extra fields, then goes where the server
  // says.
  async function ceremony(begin, beginBody, finish, extra, call, fields) {
    const start = await post(begin, beginBody);
    const pk = start.options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    if (pk.user) pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).concat(pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    say(status.dataset.working);
    let cred;
    try {
      cred = await call({ publicKey: pk });
    } catch (e) {
      throw browserError(e);
    }
    const response = {};
    fields.forEach(function (f) {
      if (cred.response[f]) response[f] = toText(cred.response[f]);
    });
    if (cred.response.getTransports) response.transports = cred.response.getTransports();
    const body = Object.assign({
      challenge: start.challenge,
      credential: {
        id: cred.id,
        rawId: toText(cred.rawId),
        type: cred.type,
        authenticatorAttachment: cred.authenticatorAttachment || undefined,
        clientExtensionResults: cred.getClientExtensionResults(),
        response: response,
      },
    }, extra);
    const done = await post(finish, body);
    window.location.assign(done.redirect);
  }

  function register(name) {
    return ceremony("/account/passkeys/options", {}, "/account/passkeys", { name: name },
      function (o) { return navigator.credentials.create(o); },
      ["clientDataJSON", "attestationObject"]);
  }

  const assertionFields = ["clientDataJSON", "authenticatorData", "signature", "userHandle"];
  function get(o) { return navigator.credentials.get(o); }

  function signIn(returnTo) {
    return ceremony("/signin/passkey/options", {}, "/signin/passkey", { return_to: returnTo },
      get, assertionFields);
  }

  // secondStep completes a password sign-in's second step with one of the
  // account's passkeys; the server binds the ceremony to the step's token.
  function secondStep(token, returnTo) {
    return ceremony("/signin/mfa/passkey/options", { mfa_token: token }, "/signin/mfa/passkey",
      { mfa_token: token, return_to: returnTo }, get, assertionFields);
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

  const mfaButton = document.getElementById("passkey-mfa");
  if (mfaButton) {
    mfaButton.addEventListener("click", function () {
      const token = document.querySelector("input[name=mfa_token]");
      const back = document.querySelector("input[name=return_to]");
      run(mfaButton, function () { return secondStep(token ? token.value : "", back ? back.value : ""); });
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
