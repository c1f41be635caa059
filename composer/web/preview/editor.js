/* The issue editor, served by the preview itself (no network, no CDN).

   The form is built from the issue's data as the preview read it from the file (the same plain
   data `composer check` validates), and every control writes back into that data. Each change
   is kept as a draft in this browser (localStorage) until it is saved or discarded, and sent to
   the preview's check a quarter of a second after typing stops: its problems are shown at their
   fields and the email beside is replaced. Saving sends the data with the hash of the file it
   was loaded from; the preview writes only what changed, or refuses and shows the difference. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-data").textContent);
  var KEY = "composer-draft:" + config.number;
  var ORDER = {
    issue: ["number", "date", "subject", "preheader", "intro", "items", "carried", "tools", "tools_note", "reminders"],
    item: ["id", "title", "networks", "body", "action", "contacts", "event", "deadline", "remind", "update"],
    event: ["place", "sessions"],
    session: ["date", "start", "end", "end_date", "place", "label", "contacts"],
    tool: ["title", "url", "links", "publisher", "date", "closes"],
    reminders: ["drop", "keep"]
  };
  var KEEP_EMPTY = {id: true, title: true, date: true};
  var fields = document.getElementById("fields");
  var frame = document.getElementById("live-email");
  var digest = config.digest, state, timer = null, sequence = 0, lastProblems = [];

  function clone(value) { return JSON.parse(JSON.stringify(value)); }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function slug(text) {
    return (text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60).replace(/-+$/, "");
  }

  /* --- the draft ------------------------------------------------------------------------ */
  function readDraft() {
    try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch (error) { return null; }
  }
  function keepDraft() {
    var data = JSON.parse(plain());
    if (same(data, config.data)) { localStorage.removeItem(KEY); return; }
    localStorage.setItem(KEY, JSON.stringify({digest: digest, data: data}));
  }
  var draft = readDraft();
  state = draft && draft.data ? draft.data : clone(config.data);
  if (draft && draft.data && !same(draft.data, config.data)) {
    digest = draft.digest || digest;  /* a file changed since the draft was made: the save says so */
    document.getElementById("draft-note").textContent =
      "Your unsaved draft is back. Save it, or Discard draft to start again from the file.";
  }

  /* --- the data ------------------------------------------------------------------------- */
  function put(object, key, value, order) {
    /* Set a key; a new one goes where a person would write it (the fields' usual order). */
    if (value === undefined || value === null || (value === "" && !KEEP_EMPTY[key]) ||
        (Array.isArray(value) && !value.length && key !== "items")) {
      delete object[key];
      return;
    }
    if (key in object || !order) { object[key] = value; return; }
    var rank = order.indexOf(key), entries = Object.keys(object).map(function (k) { return [k, object[k]]; });
    var at = entries.findIndex(function (entry) {
      var other = order.indexOf(entry[0]);
      return rank >= 0 && other > rank;
    });
    entries.splice(at < 0 ? entries.length : at, 0, [key, value]);
    Object.keys(object).forEach(function (k) { delete object[k]; });
    entries.forEach(function (entry) { object[entry[0]] = entry[1]; });
  }
  function changed() {
    keepDraft();
    document.getElementById("save-status").textContent = "";
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  }

  /* --- building the form ---------------------------------------------------------------- */
  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attributes[name]; } else { node.setAttribute(name, attributes[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }
  function group(legend, field, children, extra) {
    var box = element("fieldset", Object.assign({"data-field": field || ""}, extra || {}),
      [element("legend", {text: legend})].concat(children));
    box.appendChild(element("ul", {"class": "field-problems"}));
    return box;
  }
  function button(text, action, extra) {
    var node = element("button", Object.assign({type: "button", text: text}, extra || {}));
    node.addEventListener("click", action);
    return node;
  }
  /* One labelled input bound to object[key]. */
  function input(label, object, key, options) {
    options = options || {};
    var id = options.id, kind = options.type || "text", control;
    if (kind === "textarea") {
      control = element("textarea", {id: id, rows: options.rows || 5});
    } else {
      control = element("input", {id: id, type: kind});
      if (kind === "number") { control.setAttribute("min", "0"); control.setAttribute("max", "52"); }
    }
    var value = object[key];
    control.value = value === undefined || value === null ? "" : String(value);
    var hintId = options.hint ? id + "-hint" : null;
    var problemsId = id + "-problems";
    control.setAttribute("aria-describedby", (hintId ? hintId + " " : "") + problemsId);
    control.addEventListener("input", function () {
      var text = control.value;
      var typed = kind === "number" ? (text === "" ? null : Number(text)) : text;
      put(object, key, typed, options.order);
      if (options.after) { options.after(text); }
      changed();
    });
    var box = element("div", {"class": "field", "data-field": options.field || ""}, [
      element("label", {"for": id, text: label}),
      hintId ? element("span", {id: hintId, "class": "hint", text: options.hint}) : null
    ]);
    if (kind === "textarea" && options.markdown) { box.appendChild(toolbar(control, label)); }
    box.appendChild(control);
    box.appendChild(element("ul", {"class": "field-problems", id: problemsId}));
    if (options.markdown) {
      box.appendChild(element("div", {"class": "md-preview", "data-markdown": options.markdown,
        "aria-label": label + " as the email shows it", role: "region"}));
    }
    return box;
  }
  /* Bold, italic, link and list for a Markdown text area (Ctrl+B and Ctrl+I too). */
  function toolbar(area, label) {
    function wrap(before, after, placeholder) {
      var start = area.selectionStart, end = area.selectionEnd, value = area.value;
      var chosen = value.slice(start, end) || placeholder;
      area.value = value.slice(0, start) + before + chosen + after + value.slice(end);
      area.focus();
      area.setSelectionRange(start + before.length, start + before.length + chosen.length);
      area.dispatchEvent(new Event("input"));
    }
    function link() {
      var start = area.selectionStart, end = area.selectionEnd, value = area.value;
      var text = value.slice(start, end) || "link text", url = "https://";
      area.value = value.slice(0, start) + "[" + text + "](" + url + ")" + value.slice(end);
      var at = start + text.length + 3;
      area.focus();
      area.setSelectionRange(at, at + url.length);
      area.dispatchEvent(new Event("input"));
    }
    function list() {
      var value = area.value, start = value.lastIndexOf("\n", area.selectionStart - 1) + 1;
      var end = area.selectionEnd, lines = value.slice(start, end).split("\n");
      var listed = lines.map(function (line) { return /^- /.test(line) ? line : "- " + line; }).join("\n");
      area.value = value.slice(0, start) + listed + value.slice(end);
      area.focus();
      area.setSelectionRange(start, start + listed.length);
      area.dispatchEvent(new Event("input"));
    }
    area.addEventListener("keydown", function (event) {
      if (!(event.ctrlKey || event.metaKey)) { return; }
      if (event.key === "b") { event.preventDefault(); wrap("**", "**", "bold text"); }
      if (event.key === "i") { event.preventDefault(); wrap("*", "*", "italic text"); }
    });
    return element("div", {"class": "toolbar", role: "toolbar", "aria-label": label + " formatting"}, [
      button("Bold", function () { wrap("**", "**", "bold text"); }),
      button("Italic", function () { wrap("*", "*", "italic text"); }),
      button("Link", link),
      button("List", list)
    ]);
  }
  /* Checkboxes for a list of ids (networks, contacts), named for people. */
  function choices(legend, object, key, options, hint, field, id) {
    var chosen = object[key] || [], boxes = options.map(function (option, index) {
      var boxId = id + "-" + index;
      var box = element("input", {type: "checkbox", id: boxId, value: option.id});
      box.checked = chosen.indexOf(option.id) >= 0;
      box.addEventListener("change", function () {
        var picked = options.filter(function (o, i) { return document.getElementById(id + "-" + i).checked; })
          .map(function (o) { return o.id; });
        var extra = (object[key] || []).filter(function (v) { return !options.some(function (o) { return o.id === v; }); });
        put(object, key, picked.concat(extra), ORDER.item);
        changed();
      });
      return element("label", {"for": boxId}, [box, document.createTextNode(" " + option.label)]);
    });
    var box = group(legend, field, [
      hint ? element("p", {"class": "hint", text: hint}) : null,
      element("div", {"class": "choices"}, boxes)
    ]);
    return box;
  }
  function itemField(item, index) {
    return "items[" + (typeof item.id === "string" && item.id ? item.id : index) + "]";
  }
  function moveButtons(list, index, name, render) {
    return element("div", {"class": "row"}, [
      button("Move up", function () { move(list, index, -1, name); }, index === 0 ? {disabled: ""} : {}),
      button("Move down", function () { move(list, index, 1, name); }, index === list.length - 1 ? {disabled: ""} : {}),
      button("Remove " + name, function () {
        list.splice(index, 1);
        rerender("add-" + name);
      })
    ]);
  }
  function move(list, index, step, name) {
    var entry = list.splice(index, 1)[0];
    list.splice(index + step, 0, entry);
    rerender(name + "-" + (index + step) + "-" + (step < 0 ? "up" : "down"));
  }
  function sessionRow(item, sessions, n, base, field) {
    var session = sessions[n], id = base + "-session-" + n;
    var row = group("Session " + (n + 1), field + ".event.sessions[" + n + "]", [
      element("div", {"class": "row"}, [
        input("Date", session, "date", {id: id + "-date", type: "date", order: ORDER.session, field: field + ".event.sessions[" + n + "].date"}),
        input("Start", session, "start", {id: id + "-start", type: "time", order: ORDER.session, field: field + ".event.sessions[" + n + "].start"}),
        input("End", session, "end", {id: id + "-end", type: "time", order: ORDER.session, field: field + ".event.sessions[" + n + "].end"}),
        input("Place", session, "place", {id: id + "-place", order: ORDER.session, field: field + ".event.sessions[" + n + "].place"}),
        input("Label", session, "label", {id: id + "-label", order: ORDER.session, field: field + ".event.sessions[" + n + "].label",
          hint: "what this session is, when there are several"})
      ]),
      button("Remove session", function () {
        sessions.splice(n, 1);
        if (!sessions.length) { delete item.event; }
        rerender(base + "-add-session");
      })
    ]);
    return row;
  }
  function itemBox(item, index, items) {
    var base = "item-" + index, field = itemField(item, index);
    var idBox = input("Id", item, "id", {id: base + "-id", field: field + ".id", order: ORDER.item,
      hint: "made from the title; a reminder keeps it, so change it before the first send only"});
    var title = input("Title", item, "title", {id: base + "-title", field: field + ".title", order: ORDER.item,
      after: function (text) {
        if (item._auto) {
          put(item, "id", slug(text), ORDER.item);
          document.getElementById(base + "-id").value = item.id;
        }
      }});
    idBox.querySelector("input").addEventListener("input", function () { item._auto = false; });
    var event = item.event || {};
    var sessions = event.sessions || [];
    var eventBox = group("Event", field + ".event", [
      input("Place", event, "place", {id: base + "-event-place", field: field + ".event.place", order: ORDER.event,
        hint: "where every session is, unless a session says",
        after: function () { if (!item.event && event.place) { put(item, "event", event, ORDER.item); } }}),
    ].concat(sessions.map(function (s, n) { return sessionRow(item, sessions, n, base, field); })).concat([
      button("Add session", function () {
        if (!item.event) { put(item, "event", {sessions: []}, ORDER.item); }
        if (!item.event.sessions) { put(item.event, "sessions", [], ORDER.event); }
        item.event.sessions.push({date: ""});
        rerender(base + "-session-" + (item.event.sessions.length - 1) + "-date");
      }, {id: base + "-add-session"})
    ]));
    var box = group("Item " + (index + 1), field, [
      moveButtonsFor(items, index),
      title, idBox,
      choices("Networks", item, "networks", config.networks.map(function (n) { return {id: n.id, label: n.name}; }),
        "none ticked: everyone", field + ".networks", base + "-networks"),
      input("Body", item, "body", {id: base + "-body", type: "textarea", rows: 7, markdown: "items." + index + ".body",
        field: field + ".body", order: ORDER.item}),
      input("Action required", item, "action", {id: base + "-action", type: "textarea", rows: 4,
        markdown: "items." + index + ".action", field: field + ".action", order: ORDER.item}),
      choices("Contacts", item, "contacts", config.contacts.map(function (c) { return {id: c.id, label: c.name + " (" + c.role + ")"}; }),
        "cited in Contact Details", field + ".contacts", base + "-contacts"),
      eventBox,
      input("Deadline", item, "deadline", {id: base + "-deadline", type: "date", field: field + ".deadline", order: ORDER.item}),
      remindBox(item, base, field),
      item.update ? element("p", {"class": "hint", text: "This item updates the earlier one with the same id (update: true): it shows among the reminders, marked Updated."}) : null
    ], {id: base});
    return box;
  }
  function moveButtonsFor(items, index) {
    var row = moveButtons(items, index, "item");
    row.querySelectorAll("button")[0].id = "item-" + index + "-up";
    row.querySelectorAll("button")[1].id = "item-" + index + "-down";
    return row;
  }
  function remindBox(item, base, field) {
    var rule = item.remind, kind = !rule ? "" : typeof rule === "string" ? rule : "until" in rule ? "until" : "weeks";
    var select = element("select", {id: base + "-remind"}, [
      ["", "as usual: until its event or deadline, or for the usual weeks"],
      ["weeks", "for a number of weeks"], ["until", "until a date"], ["never", "never"], ["open", "until further notice"]
    ].map(function (option) {
      var node = element("option", {value: option[0], text: option[1]});
      node.selected = option[0] === kind;
      return node;
    }));
    select.addEventListener("change", function () {
      var value = select.value;
      put(item, "remind", value === "weeks" ? {weeks: 3} : value === "until" ? {until: ""} : value || null, ORDER.item);
      changed();
      rerender(base + "-remind");
    });
    var box = element("div", {"class": "field", "data-field": field + ".remind"}, [
      element("label", {"for": base + "-remind", text: "Remind"}), select
    ]);
    if (kind === "weeks") { box.appendChild(input("Weeks", rule, "weeks", {id: base + "-remind-weeks", type: "number"})); }
    if (kind === "until") { box.appendChild(input("Until", rule, "until", {id: base + "-remind-until", type: "date"})); }
    box.appendChild(element("ul", {"class": "field-problems"}));
    return box;
  }
  function toolBox(tool, index, tools) {
    var base = "tool-" + index, field = "tools[" + index + "]";
    var parts = [moveButtons(tools, index, "tool"),
      input("Title", tool, "title", {id: base + "-title", field: field + ".title", order: ORDER.tool})];
    if (Array.isArray(tool.links)) {
      tool.links.forEach(function (link, n) {
        parts.push(element("div", {"class": "row"}, [
          input("Label", link, "label", {id: base + "-link-" + n + "-label", field: field + ".links[" + n + "].label"}),
          input("Link", link, "url", {id: base + "-link-" + n + "-url", type: "url", field: field + ".links[" + n + "].url"})
        ]));
      });
    } else {
      parts.push(input("Link", tool, "url", {id: base + "-url", type: "url", field: field + ".url", order: ORDER.tool}));
    }
    parts.push(input("Publisher", tool, "publisher", {id: base + "-publisher", field: field + ".publisher", order: ORDER.tool}));
    parts.push(input("Date", tool, "date", {id: base + "-date", type: "date", field: field + ".date", order: ORDER.tool}));
    return group("Tool " + (index + 1), field, parts);
  }
  function reminderBox(reminder, index) {
    var overrides = state.reminders || {}, drop = overrides.drop || [], keep = overrides.keep || {};
    var stopped = drop.indexOf(reminder.id) >= 0, base = "reminder-" + index;
    function overridesFor() {
      if (!state.reminders) { put(state, "reminders", {}, ORDER.issue); }
      return state.reminders;
    }
    function tidy() { if (state.reminders && !Object.keys(state.reminders).length) { delete state.reminders; } }
    var titleId = base + "-title";
    var parts = [
      element("p", {"class": "reminder-title", id: titleId}, [element("strong", {text: reminder.title})]),
      element("p", {"class": "hint", text: reminder.why + (stopped ? " · stopped from this issue on" : "") +
        (keep[reminder.id] ? " · kept until " + keep[reminder.id] : "")}),
      element("div", {"class": "row"}, [
        button(stopped ? "Remind again" : "Stop reminding", function () {
          var o = overridesFor(), list = (o.drop || []).filter(function (id) { return id !== reminder.id; });
          if (!stopped) { list.push(reminder.id); }
          put(o, "drop", list, ORDER.reminders);
          tidy();
          changed();
          rerender(base + "-stop");
        }, {id: base + "-stop"}),
        button("Keep until…", function () {
          document.getElementById(base + "-keep-box").hidden = false;
          document.getElementById(base + "-keep").focus();
        }, {id: base + "-keep-open"}),
        button("Update this reminder", function () {
          var copy = clone(reminder.item);
          copy.update = true;
          if (!Array.isArray(state.items)) { put(state, "items", [], ORDER.issue); }
          state.items.push(copy);
          rerender("item-" + (state.items.length - 1) + "-title");
        })
      ])
    ];
    var keepBox = element("div", {id: base + "-keep-box", "class": "field"}, [
      element("label", {"for": base + "-keep", text: "Keep until"})
    ]);
    var date = element("input", {type: "date", id: base + "-keep"});
    date.value = keep[reminder.id] || "";
    date.addEventListener("change", function () {
      var o = overridesFor(), kept = Object.assign({}, o.keep || {});
      if (date.value) { kept[reminder.id] = date.value; } else { delete kept[reminder.id]; }
      put(o, "keep", Object.keys(kept).length ? kept : null, ORDER.reminders);
      tidy();
      changed();
    });
    keepBox.appendChild(date);
    keepBox.hidden = !keep[reminder.id];
    parts.push(keepBox);
    return element("div", {"class": "reminder" + (stopped ? " stopped" : ""), role: "group", "aria-labelledby": titleId}, parts);
  }
  function render() {
    var items = Array.isArray(state.items) ? state.items : [];
    var tools = Array.isArray(state.tools) ? state.tools : [];
    fields.replaceChildren(
      group("Issue", "", [
        element("p", {"class": "hint", text: "Update No " + state.number}),
        input("Date", state, "date", {id: "issue-date", type: "date", field: "date", order: ORDER.issue}),
        input("Subject", state, "subject", {id: "issue-subject", field: "subject", order: ORDER.issue,
          hint: "leave empty for the usual subject line"}),
        input("Preheader", state, "preheader", {id: "issue-preheader", field: "preheader", order: ORDER.issue,
          hint: "the short line mail clients show after the subject"}),
        input("Intro", state, "intro", {id: "issue-intro", type: "textarea", rows: 3, markdown: "intro", field: "intro",
          order: ORDER.issue, hint: "leave empty for the usual intro"})
      ]),
      element("h2", {text: "This week's items"}),
      element("div", {id: "items"}, items.map(function (item, index) { return itemBox(item, index, items); })),
      button("Add item", function () {
        if (!Array.isArray(state.items)) { put(state, "items", [], ORDER.issue); }
        state.items.push({id: "", title: "", _auto: true});  /* its id follows its title until typed */
        rerender("item-" + (state.items.length - 1) + "-title");
      }, {id: "add-item"}),
      element("h2", {text: "Reminders from previous weeks"}),
      config.reminders.length ? element("div", {id: "reminders"}, config.reminders.map(reminderBox)) :
        element("p", {"class": "hint", text: "None carry forward into this issue."}),
      element("div", {"data-field": "reminders"}, [element("ul", {"class": "field-problems"})]),
      element("h2", {text: "Tools & Templates"}),
      element("div", {id: "tools"}, tools.map(function (tool, index) { return toolBox(tool, index, tools); })),
      button("Add tool", function () {
        if (!Array.isArray(state.tools)) { put(state, "tools", [], ORDER.issue); }
        state.tools.push({title: ""});
        rerender("tool-" + (state.tools.length - 1) + "-title");
      }, {id: "add-tool"})
    );
    showProblems(lastProblems);
  }
  function rerender(focusId) {
    changed();
    render();
    var target = document.getElementById(focusId);
    if (!target || target.disabled) { target = document.getElementById("add-item"); }
    if (target) { target.focus(); }
  }

  /* --- checking as you type ------------------------------------------------------------- */
  function plain() {
    /* the data to send: the form's own note (_auto: a new item's id follows its title) left out */
    return JSON.stringify(state, function (key, value) { return key.charAt(0) === "_" ? undefined : value; });
  }
  function post(path, values) {
    return fetch(path, {method: "POST", body: new URLSearchParams(Object.assign({token: config.token}, values)),
      cache: "no-store"});
  }
  function check() {
    var mine = ++sequence;
    post("/issue/" + config.number + "/edit/check", {data: plain()})
      .then(function (response) { return response.json(); })
      .then(function (answer) { if (mine === sequence) { shown(answer); } })
      .catch(function () { document.getElementById("save-status").textContent = "The preview is not answering."; });
  }
  function shown(answer) {
    if (answer.html) { frame.srcdoc = answer.html; }
    Object.keys(answer.markdown || {}).forEach(function (key) {
      var box = document.querySelector("[data-markdown='" + key + "']");
      if (box) { box.innerHTML = answer.markdown[key]; }  /* the project's Markdown: raw HTML is off */
    });
    if (answer.problems) { showProblems(answer.problems); }
  }
  function place(problem) {
    /* the element for a problem's field: the field itself, or the nearest enclosing one */
    var name = problem.field;
    while (problem.here && name) {
      var match = Array.prototype.find.call(fields.querySelectorAll("[data-field]"), function (node) {
        return node.getAttribute("data-field") === name;
      });
      if (match) { return match; }
      var cut = Math.max(name.lastIndexOf("."), name.lastIndexOf("["));
      name = cut > 0 ? name.slice(0, cut) : "";
    }
    return null;
  }
  function showProblems(problems) {
    lastProblems = problems;
    fields.querySelectorAll(".field-problems").forEach(function (list) { list.replaceChildren(); });
    fields.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    var errors = problems.filter(function (p) { return p.severity === "error"; }).length;
    var summary = document.getElementById("problems"), list = element("ul", {"class": "field-problems"});
    problems.forEach(function (problem) {
      var where = place(problem), text = (problem.severity === "error" ? "Error: " : "Warning: ") + problem.message;
      list.appendChild(element("li", {"class": problem.severity, text: problem.here ? text + (problem.field ? " (" + problem.field + ")" : "") : problem.text}));
      if (!where) { return; }
      var own = where.querySelector(":scope > .field-problems") || where.querySelector(".field-problems");
      if (!own) { return; }
      own.appendChild(element("li", {"class": problem.severity, text: text}));
      var control = where.querySelector(":scope > input, :scope > textarea, :scope > select");
      if (control && problem.severity === "error") { control.setAttribute("aria-invalid", "true"); }
    });
    summary.replaceChildren(
      element("p", {text: problems.length ? errors + " error" + (errors === 1 ? "" : "s") + ", " +
        (problems.length - errors) + " warning" + (problems.length - errors === 1 ? "" : "s") +
        (errors ? ": composer send refuses the issue until the errors are fixed (a save still writes them)." : ".") :
        "No problems: composer check passes."}),
      list
    );
  }

  /* --- saving --------------------------------------------------------------------------- */
  function save(withDigest) {
    var status = document.getElementById("save-status"), box = document.getElementById("conflict-box");
    status.textContent = "Saving…";
    clearTimeout(timer);
    post("/issue/" + config.number + "/edit/save", {digest: withDigest, data: plain()})
      .then(function (response) { return response.json().then(function (answer) { return [response.status, answer]; }); })
      .then(function (result) {
        var answer = result[1];
        if (result[0] !== 200) {
          status.textContent = answer.message || "Not saved.";
          box.hidden = !answer.diff;
          document.getElementById("conflict").textContent = answer.diff || "";
          box.dataset.current = answer.current || "";
          return;
        }
        box.hidden = true;
        digest = answer.digest;
        config.data = JSON.parse(plain());
        localStorage.removeItem(KEY);
        document.getElementById("draft-note").textContent = "";
        var errors = (answer.problems || []).filter(function (p) { return p.severity === "error"; }).length;
        status.textContent = "Saved " + answer.saved + (errors ? ", with " + errors + " error" + (errors === 1 ? "" : "s") +
          " to fix before sending." : ".");
        shown(answer);
      })
      .catch(function () { status.textContent = "Not saved: the preview is not answering. Your draft is kept."; });
  }
  document.getElementById("editor").addEventListener("submit", function (event) {
    event.preventDefault();
    save(digest);
  });
  document.getElementById("overwrite").addEventListener("click", function () {
    var current = document.getElementById("conflict-box").dataset.current;
    if (current) { digest = current; save(current); }
  });
  document.getElementById("discard").addEventListener("click", function () {
    localStorage.removeItem(KEY);
    location.reload();
  });

  render();
  check();
})();
