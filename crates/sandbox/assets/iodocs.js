// I/O Docs: gets tokens and tries the API's methods from the browser, then shows the exact
// request (the client secret masked), the status, headers and body of the answer, and the
// equivalent curl command. Plain JavaScript, no dependencies; the page reads without it.
'use strict';

(function () {
  const SECRET_FIELDS = ['client_secret'];

  function field(id) {
    return document.getElementById(id);
  }

  // A shell word in single quotes.
  function quote(text) {
    return "'" + String(text).replace(/'/g, "'\\''") + "'";
  }

  function mask(value) {
    return '•'.repeat(Math.max(value.length, 4));
  }

  // The body as sent, with secret fields masked.
  function maskedBody(params) {
    const shown = new URLSearchParams();
    for (const [name, value] of params) {
      shown.append(name, SECRET_FIELDS.includes(name) ? mask(value) : value);
    }
    return shown.toString();
  }

  function curl(request) {
    const parts = ['curl -i'];
    if (request.method !== 'GET') parts.push('-X ' + request.method);
    parts.push(quote(request.url));
    for (const [name, value] of request.headers) parts.push('-H ' + quote(name + ': ' + value));
    if (request.params) {
      for (const [name, value] of request.params) {
        if (SECRET_FIELDS.includes(name)) {
          parts.push('--data-urlencode "' + name + '=$CLIENT_SECRET"');
        } else {
          parts.push('--data-urlencode ' + quote(name + '=' + value));
        }
      }
    }
    return parts.join(' \\\n  ');
  }

  function block(out, title, text, name) {
    const heading = document.createElement('h4');
    heading.textContent = title;
    const pre = document.createElement('pre');
    pre.className = name;
    pre.textContent = text;
    out.append(heading, pre);
    return pre;
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  // Sends `request`, shows it and its answer in `out`; resolves to the answer's status and
  // parsed JSON body (or null).
  async function exchange(out, request) {
    out.hidden = false;
    out.replaceChildren();
    out.dataset.status = 'pending';
    const lines = [request.method + ' ' + request.url];
    for (const [name, value] of request.headers) lines.push(name + ': ' + value);
    if (request.params) lines.push('', maskedBody(request.params));
    block(out, 'Request', lines.join('\n'), 'request');
    block(out, 'curl', curl(request), 'curl');
    let response;
    let text;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.params ? request.params.toString() : undefined,
        credentials: 'omit',
        cache: 'no-store',
      });
      text = await response.text();
    } catch (error) {
      block(out, 'Error', String(error), 'error');
      out.dataset.status = 'error';
      return { status: 0, json: null };
    }
    block(out, 'Response status', response.status + ' ' + response.statusText, 'status');
    const headers = [];
    response.headers.forEach((value, name) => headers.push(name + ': ' + value));
    block(out, 'Response headers', headers.join('\n'), 'headers');
    block(out, 'Response body', pretty(text), 'body');
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (_) {
      json = null;
    }
    out.dataset.status = String(response.status);
    return { status: response.status, json };
  }

  function absolute(path) {
    return new URL(path, window.location.href).href;
  }

  function adoptTokens(answer) {
    if (answer.status === 200 && answer.json && answer.json.access_token) {
      field('access_token').value = answer.json.access_token;
      field('refresh_token').value = answer.json.refresh_token || '';
    }
  }

  function tokenRequest(grant) {
    const params = new URLSearchParams();
    params.append('grant_type', grant);
    if (grant === 'refresh_token') params.append('refresh_token', field('refresh_token').value);
    params.append('client_id', field('client_id').value.trim());
    params.append('client_secret', field('client_secret').value);
    return {
      method: 'POST',
      url: absolute(field('credentials').dataset.tokenPath),
      headers: [['Content-Type', 'application/x-www-form-urlencoded']],
      params,
    };
  }

  async function token(grant) {
    adoptTokens(await exchange(field('token-exchange'), tokenRequest(grant)));
  }

  // The request a method's form describes; empty credentials come from the form above.
  function methodRequest(form) {
    const query = new URLSearchParams();
    const body = new URLSearchParams();
    const headers = [];
    for (const input of form.querySelectorAll('[data-location]')) {
      let value = input.value;
      if (value === '' && field(input.name) && input.name !== 'access_token') value = field(input.name).value;
      if (value === '') continue;
      const location = input.dataset.location;
      if (location === 'body') body.append(input.name, value);
      else if (location === 'header') headers.push([input.name, value]);
      else query.append(input.name, value);
    }
    if (form.dataset.bearer === 'true') headers.push(['Authorization', 'Bearer ' + field('access_token').value]);
    const hasBody = [...body].length > 0;
    if (hasBody) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    const search = query.toString();
    return {
      method: form.dataset.httpMethod,
      url: absolute(form.dataset.path + (search ? '?' + search : '')),
      headers,
      params: hasBody ? body : null,
    };
  }

  function pick() {
    const option = field('pick-app').selectedOptions[0];
    if (option && option.value) {
      field('client_id').value = option.dataset.clientId;
      field('client_secret').value = option.dataset.clientSecret;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (field('pick-app')) field('pick-app').addEventListener('change', pick);
    field('get-token').addEventListener('click', () => token('client_credentials'));
    field('refresh').addEventListener('click', () => token('refresh_token'));
    for (const form of document.querySelectorAll('form.try')) {
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const out = form.parentElement.querySelector('.exchange');
        const answer = await exchange(out, methodRequest(form));
        if (form.dataset.path === field('credentials').dataset.tokenPath) adoptTokens(answer);
      });
    }
  });
})();
