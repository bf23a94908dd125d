// creditdesk web chat: plain JavaScript, no build step. Talks to the /v1 API with an API key (or, in demo mode
// only, a demo user header). Renders the assistant's Markdown (paragraphs, bold, lists, tables, code), charts
// and proposals; Approve / Reject appear only when the server says the current user may decide. A clarifying
// question's readings become buttons: a click sends the reading's number as the next message.
"use strict";

const state = { key: null, demoUser: null, conversation: null };
const $ = (id) => document.getElementById(id);

function authHeaders() {
  if (state.key) return { Authorization: "Bearer " + state.key };
  if (state.demoUser) return { "X-Creditdesk-Demo-User": state.demoUser };
  return {};
}

async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, authHeaders(), options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const message = (body && (body.detail || body.title)) || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function inline(text) {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])_(.+?)_(?=[\s).,;:]|$)/g, "$1<em>$2</em>");
}

function isTableLine(line) {
  const t = line.trim();
  return t.startsWith("|") && t.endsWith("|") && t.length > 1;
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

// A small Markdown renderer for what the assistant writes; everything is escaped first.
function renderMarkdown(text) {
  const lines = String(text || "").split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim().startsWith("```")) {
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith("```")) { code.push(lines[i]); i += 1; }
      i += 1;
      out.push("<pre><code>" + escapeHtml(code.join("\n")) + "</code></pre>");
      continue;
    }
    if (isTableLine(line)) {
      const rows = [];
      while (i < lines.length && isTableLine(lines[i])) { rows.push(lines[i]); i += 1; }
      const header = cells(rows[0]);
      const body = rows.slice(1).filter((r) => !/^\|?\s*:?-{2,}/.test(r.trim()));
      out.push("<table><thead><tr>" + header.map((c) => "<th>" + inline(c) + "</th>").join("") + "</tr></thead><tbody>" +
        body.map((r) => "<tr>" + cells(r).map((c) => "<td>" + inline(c) + "</td>").join("") + "</tr>").join("") +
        "</tbody></table>");
      continue;
    }
    if (/^\s*[-*] /.test(line)) {
      const items = [];
      while (i < lines.length && /^\s*[-*] /.test(lines[i])) { items.push(lines[i].replace(/^\s*[-*] /, "")); i += 1; }
      out.push("<ul>" + items.map((item) => "<li>" + inline(item) + "</li>").join("") + "</ul>");
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) { out.push("<h3>" + inline(heading[2]) + "</h3>"); i += 1; continue; }
    if (line.trim()) out.push("<p>" + inline(line) + "</p>");
    i += 1;
  }
  return out.join("");
}

function addMessage(kind, html) {
  const div = document.createElement("div");
  div.className = "msg " + kind;
  div.innerHTML = html;
  $("messages").appendChild(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

async function showChart(container, chart) {
  try {
    const response = await fetch(chart.url, { headers: authHeaders() });
    if (!response.ok) return;
    const img = document.createElement("img");
    img.className = "chart";
    img.alt = "chart " + chart.name;
    img.src = URL.createObjectURL(await response.blob());
    container.appendChild(img);
  } catch (error) { /* a missing chart is not worth an error message */ }
}

async function showProposal(container, ref) {
  const box = document.createElement("div");
  box.className = "proposal";
  box.dataset.id = ref.id;
  box.innerHTML = "<strong>Proposal #" + escapeHtml(ref.id) + "</strong> · " + escapeHtml(ref.action) +
    " · <span class=\"status\">" + escapeHtml(ref.status) + "</span><div>" + escapeHtml(ref.summary) + "</div>";
  container.appendChild(box);
  let view;
  try { view = await api("/v1/proposals/" + encodeURIComponent(ref.id)); } catch (error) { return; }
  box.querySelector(".status").textContent = view.status;
  if (!view.can_decide) {
    const note = document.createElement("div");
    note.className = "meta";
    note.textContent = view.status === "pending" ? "Waiting for " + view.required_role.replace(/_/g, " ") + " approval." : view.next_step;
    box.appendChild(note);
    return;
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const [label, verb] of [["Approve", "approve"], ["Reject", "reject"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = verb;
    button.textContent = label;
    button.addEventListener("click", async () => {
      actions.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      try {
        const result = await api("/v1/proposals/" + encodeURIComponent(ref.id) + "/" + verb, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
        });
        box.querySelector(".status").textContent = result.proposal.status;
        actions.replaceWith(Object.assign(document.createElement("div"), { className: "meta result", textContent: result.message }));
      } catch (error) {
        actions.replaceWith(Object.assign(document.createElement("div"), { className: "error result", textContent: error.message }));
      }
    });
    actions.appendChild(button);
  }
  box.appendChild(actions);
}

// Buttons of a question the conversation has moved past answer nothing: close them all before the next message.
function closeChoices() {
  document.querySelectorAll("#messages .choices:not(.closed)").forEach((box) => {
    box.classList.add("closed");
    box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  });
}

function showChoices(container, choices) {
  const box = document.createElement("div");
  box.className = "choices";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Which do you mean?");
  for (const choice of choices) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.dataset.number = String(choice.number);
    button.textContent = choice.number + ". " + choice.label;
    button.addEventListener("click", () => {
      if (box.classList.contains("closed")) return;
      button.classList.add("chosen");
      send(String(choice.number), button.textContent);
    });
    box.appendChild(button);
  }
  container.appendChild(box);
}

async function send(text, shown) {
  closeChoices();
  addMessage("user", escapeHtml(shown || text));
  const pending = addMessage("assistant", "<span class=\"meta\">thinking…</span>");
  try {
    const reply = await api("/v1/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: text, conversation_id: state.conversation }),
    });
    state.conversation = reply.conversation_id;
    pending.innerHTML = renderMarkdown(reply.text);
    if (reply.error) pending.classList.add("error");
    if (reply.citations && reply.citations.length) {
      pending.insertAdjacentHTML("beforeend", "<div class=\"meta\">Sources: " +
        reply.citations.map((c) => escapeHtml(c.document + " § " + c.section)).join("; ") + "</div>");
    }
    if (reply.choices && reply.choices.length) showChoices(pending, reply.choices);
    for (const chart of reply.charts || []) await showChart(pending, chart);
    for (const ref of reply.proposals || []) await showProposal(pending, ref);
  } catch (error) {
    pending.classList.add("error");
    pending.textContent = error.status === 401 ? "Your key is not valid any more; sign in again." : error.message;
  }
}

let approvalsLoad = 0;

async function loadApprovals() {
  // Two loads may overlap (sign-in and the refresh button): only the latest one fills the list, once.
  const generation = ++approvalsLoad;
  const list = $("approval-list");
  let pending = [];
  try { pending = await api("/v1/proposals?status=pending&limit=20"); } catch (error) {
    if (generation === approvalsLoad) list.textContent = error.message;
    return;
  }
  if (generation !== approvalsLoad) return;
  list.textContent = "";
  if (!pending.length) { list.innerHTML = "<p class=\"meta\">Nothing is waiting for a decision.</p>"; return; }
  const shown = document.createElement("div");
  for (const view of pending) await showProposal(shown, view);
  if (generation !== approvalsLoad) return;
  list.replaceChildren(...shown.childNodes);
}

async function signedIn() {
  const me = await api("/v1/me");
  $("who").textContent = me.name + " (" + me.role.replace(/_/g, " ") + ")";
  $("login").hidden = true;
  $("chat").hidden = false;
  $("logout").hidden = false;
  $("message").focus();
  loadApprovals();
}

async function tryLogin(setter) {
  $("login-error").textContent = "";
  setter();
  try { await signedIn(); } catch (error) {
    state.key = null; state.demoUser = null;
    $("login-error").textContent = error.message;
  }
}

async function init() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tryLogin(() => { state.key = $("key-input").value.trim(); state.demoUser = null; });
  });
  $("demo-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tryLogin(() => { state.demoUser = $("demo-user").value; state.key = null; });
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    $("message").value = "";
    send(text);
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask-form").requestSubmit(); }
  });
  $("logout").addEventListener("click", () => { window.location.reload(); });
  $("refresh-approvals").addEventListener("click", (event) => {
    event.preventDefault();
    $("approvals").open = true;
    loadApprovals();
  });
  try {
    const config = await api("/v1/config");
    if (config.demo_users) {
      const users = await api("/v1/demo/users");
      for (const user of users) {
        const option = document.createElement("option");
        option.value = user.name;
        option.textContent = user.name + " — " + user.role.replace(/_/g, " ");
        $("demo-user").appendChild(option);
      }
      $("demo-form").hidden = false;
    }
  } catch (error) { /* demo mode off */ }
}

init();
