// The WebChat page: a Direct Line token per tenant and conversation, kept in localStorage so a reload
// resumes the conversation, and Microsoft's WebChat rendered against the runner's Direct Line facade.
const params = new URLSearchParams(location.search);
const tenant = params.get('tenant') || 'demo';
const base = `${location.origin}/v1/messaging/webchat/${encodeURIComponent(tenant)}`;
const storageKey = `greentic-webchat:${tenant}`;
const status = document.getElementById('status');
document.getElementById('who').textContent = `tenant ${tenant}`;
document.getElementById('reset').addEventListener('click', () => {
  localStorage.removeItem(storageKey);
  location.reload();
});

function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The conversation survives a reload: the saved token is refreshed and the page resumes the
// conversation, which replays its whole history. A token that expired starts a new one.
async function session() {
  const saved = JSON.parse(localStorage.getItem(storageKey) || 'null');
  const userId = saved?.userId || `u_${randomId()}`;
  if (saved?.token && saved?.conversationId) {
    const r = await fetch(`${base}/v3/directline/tokens/refresh`, { method: 'POST', headers: { Authorization: `Bearer ${saved.token}` } });
    // An expired conversation (404) is replaced by a new one instead of failing to connect.
    const alive = r.ok && (await fetch(`${base}/v3/directline/conversations/${saved.conversationId}?watermark=`, { headers: { Authorization: `Bearer ${saved.token}` } })).ok;
    if (alive) {
      const { token } = await r.json();
      const s = { token, conversationId: saved.conversationId, userId };
      localStorage.setItem(storageKey, JSON.stringify(s));
      return s;
    }
  }
  const r = await fetch(`${base}/token`, { method: 'POST' });
  if (!r.ok) throw new Error(`token request failed: ${r.status} ${await r.text()}`);
  const { token, conversationId } = await r.json();
  // Started here rather than by WebChat so the bot knows the user from the start: its welcome
  // (sent once, when the conversation is created) belongs to the same session as what follows.
  const started = await fetch(`${base}/v3/directline/conversations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'X-Greentic-Locale': 'en-US' },
    body: JSON.stringify({ user: { id: userId } }),
  });
  if (!started.ok) throw new Error(`starting the conversation failed: ${started.status} ${await started.text()}`);
  const s = { token: (await started.json()).token, conversationId, userId };
  localStorage.setItem(storageKey, JSON.stringify(s));
  return s;
}

try {
  if (!window.WebChat) throw new Error('The WebChat bundle (/vendor/webchat.js) is missing: run `npm run dev`, which vendors it from node_modules.');
  const s = await session();
  const directLine = window.WebChat.createDirectLine({
    token: s.token,
    domain: `${base}/v3/directline`,
    conversationId: s.conversationId,
  });
  document.getElementById('webchat').textContent = '';
  window.WebChat.renderWebChat({ directLine, userID: s.userId, username: 'You', locale: 'en-US' }, document.getElementById('webchat'));
  document.body.dataset.conversationId = s.conversationId;
} catch (err) {
  status.textContent = String(err && err.message ? err.message : err);
}
