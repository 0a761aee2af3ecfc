// Playground: the public API as a client calls it, with a client key typed here. The key lives
// in this page's memory, and in this tab's sessionStorage only if asked; never the admin key.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { flash } = window.gg;
  const API = "../v1"; // relative: behind a stage prefix too
  const keyInput = document.getElementById("client-key");
  const keep = document.getElementById("client-key-keep");
  const stored = sessionStorage.getItem("gg-client-key");
  if (stored) { keyInput.value = stored; keep.checked = true; }
  function clientKey() {
    const key = keyInput.value.trim();
    if (keep.checked && key) sessionStorage.setItem("gg-client-key", key);
    else sessionStorage.removeItem("gg-client-key");
    return key;
  }
  keep.addEventListener("change", clientKey);

  async function post(path, body) {
    const key = clientKey();
    const headers = { "Content-Type": "application/json" };
    if (key) headers.Authorization = `Bearer ${key}`;
    const answer = await fetch(`${API}${path}`, {
      method: "POST", headers, credentials: "omit", body: JSON.stringify(body),
    });
    if (!answer.ok) {
      let message = `HTTP ${answer.status}`;
      try { message = (await answer.json()).error.message || message; } catch (_) { /* text */ }
      const error = new Error(message);
      error.status = answer.status;
      throw error;
    }
    return answer;
  }

  // --- chat ---------------------------------------------------------------------------------
  const send = document.getElementById("chat-send");
  const status = document.getElementById("chat-status");
  const answerBox = document.getElementById("chat-answer");
  const reasoningBox = document.getElementById("chat-reasoning-box");
  const reasoning = document.getElementById("chat-reasoning");
  const toolsBox = document.getElementById("chat-tools");
  const WEATHER = {
    type: "function",
    function: {
      name: "get_weather",
      description: "The current weather of a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", description: "The city, e.g. Paris" } },
        required: ["city"],
      },
    },
  };

  function setStatus(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  send.addEventListener("click", async () => {
    const content = document.getElementById("chat-input").value.trim();
    if (!content) { flash("Type a message first.", "error"); return; }
    const body = {
      model: document.getElementById("chat-model").value,
      messages: [{ role: "user", content }],
      stream: true,
    };
    if (document.getElementById("chat-tool").checked) body.tools = [WEATHER];
    answerBox.replaceChildren();
    reasoning.textContent = "";
    reasoningBox.open = false;
    reasoningBox.hidden = true;
    toolsBox.hidden = true;
    toolsBox.textContent = "";
    send.disabled = true;
    setStatus("waiting for the first token…", "waiting");
    const calls = [];
    let pieces = 0;
    try {
      const answer = await post("/chat/completions", body);
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let done = false;
      while (!done) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        const lines = buffer.split(/\r?\n/);
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") { done = true; break; }
          const event = JSON.parse(data);
          if (event.error) throw new Error(event.error.message || "stream error");
          const delta = (event.choices && event.choices[0] && event.choices[0].delta) || {};
          if (delta.reasoning_content) {
            reasoning.append(document.createTextNode(delta.reasoning_content));
            reasoningBox.hidden = false;
            reasoningBox.open = true;
          }
          if (delta.content) {
            answerBox.append(document.createTextNode(delta.content));
            pieces += 1;
            setStatus(`streaming… ${pieces} pieces`, "streaming");
          }
          for (const call of delta.tool_calls || []) {
            const slot = calls[call.index || 0] ||= { name: "", arguments: "" };
            if (call.function && call.function.name) slot.name += call.function.name;
            if (call.function && call.function.arguments) slot.arguments += call.function.arguments;
            toolsBox.hidden = false;
            toolsBox.textContent = calls.map((c) => `${c.name}(${c.arguments})`).join("\n");
          }
        }
      }
      setStatus(`done: ${pieces} pieces${calls.length ? `, ${calls.length} tool call(s)` : ""}`,
        "done");
    } catch (error) {
      setStatus(error.message, "error");
      flash(error.message, "error");
    } finally {
      send.disabled = false;
    }
  });

  // --- images -------------------------------------------------------------------------------
  const generate = document.getElementById("image-generate");
  const imageStatus = document.getElementById("image-status");
  const gallery = document.getElementById("gallery");

  async function images(body) {
    try {
      return await (await post("/images/generations", { ...body, response_format: "b64_json" }))
        .json();
    } catch (error) {
      if (error.status !== 400 || !/url/.test(error.message)) throw error;
      return (await post("/images/generations", { ...body, response_format: "url" })).json();
    }
  }

  generate.addEventListener("click", async () => {
    const prompt = document.getElementById("image-prompt").value.trim();
    if (!prompt) { flash("Describe a picture first.", "error"); return; }
    generate.disabled = true;
    imageStatus.textContent = "generating…";
    try {
      const out = await images({
        model: document.getElementById("image-model").value,
        prompt,
        n: Number(document.getElementById("image-n").value),
      });
      for (const item of out.data || []) {
        const figure = document.createElement("figure");
        const img = document.createElement("img");
        img.alt = prompt;
        img.src = item.b64_json ? `data:image/jpeg;base64,${item.b64_json}` : item.url;
        const caption = document.createElement("figcaption");
        caption.textContent = prompt;
        figure.append(img, caption);
        gallery.prepend(figure);
      }
      imageStatus.textContent = `${(out.data || []).length} image(s)`;
    } catch (error) {
      imageStatus.textContent = "";
      flash(error.message, "error");
    } finally {
      generate.disabled = false;
    }
  });
});
