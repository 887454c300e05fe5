"""The page's own CSS and scripts (no user text ever goes in here): print view, panel values that
wrap instead of being cut, the chat box's character counter, and the scroll to a new answer."""

from __future__ import annotations

STYLE = """<style>
/* panel values wrap instead of ending in an ellipsis */
[data-testid="stSidebar"] [data-baseweb="select"] div,
[data-testid="stSidebar"] [data-baseweb="tag"] span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  max-width: none !important;
}
[data-testid="stSidebar"] [data-baseweb="tag"] { height: auto !important; }
/* long words in an answer (NDCs, quotes) never push the page sideways on a narrow screen */
[data-testid="stChatMessage"] p, [data-testid="stChatMessage"] li { overflow-wrap: anywhere; }
#kad-counter { font-size: 0.8rem; color: #555; text-align: right; padding: 0 0.5rem; }
#kad-counter.over { color: #b00020; font-weight: 600; }
@media print {
  [data-testid="stSidebar"], [data-testid="stBottom"], [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stChatInput"], [data-testid="stBaseButton-secondary"], [data-testid="stPopover"],
  [data-testid="stDownloadButton"], #kad-counter { display: none !important; }
  [data-testid="stMain"], [data-testid="stAppViewContainer"], .stApp { overflow: visible !important;
    height: auto !important; position: static !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
  [data-testid="stExpanderDetails"] { display: block !important; }
  body { color: #000; background: #fff; }
}
</style>"""


def counter_script(limit: int) -> str:
    """A 'n / limit characters' line under the chat box; over the limit it turns red and Enter does not send."""
    return f"""<script>
(() => {{
  const LIMIT = {int(limit)};
  if (window.__kadCounter) return;
  window.__kadCounter = true;
  const box = () => document.querySelector('[data-testid="stChatInputTextArea"]');
  const show = () => {{
    const area = box();
    if (!area) return;
    const holder = area.closest('[data-testid="stChatInput"]');
    if (!holder || !holder.parentElement) return;
    let line = document.getElementById('kad-counter');
    if (!line) {{
      line = document.createElement('div');
      line.id = 'kad-counter';
      line.setAttribute('data-testid', 'kadCounter');
      line.setAttribute('aria-live', 'polite');
    }}
    if (line.parentElement !== holder.parentElement) holder.parentElement.appendChild(line);
    const n = area.value.length;
    const over = n > LIMIT;
    const cls = over ? 'over' : '';
    const text = over
      ? `${{n.toLocaleString('en-US')}} / ${{LIMIT.toLocaleString('en-US')}} characters: over the limit by ${{(n - LIMIT).toLocaleString('en-US')}}. Shorten the note before sending (it will not be sent).`
      : `${{n.toLocaleString('en-US')}} / ${{LIMIT.toLocaleString('en-US')}} characters`;
    // only real changes are written: the observer below would otherwise see its own writes forever
    if (line.className !== cls) line.className = cls;
    if (line.textContent !== text) line.textContent = text;
  }};
  document.addEventListener('input', (e) => {{ if (e.target === box()) show(); }}, true);
  document.addEventListener('keydown', (e) => {{
    const area = box();
    if (e.target === area && e.key === 'Enter' && !e.shiftKey && area.value.length > LIMIT) {{
      e.preventDefault(); e.stopPropagation(); show();
    }}
  }}, true);
  new MutationObserver(show).observe(document.body, {{childList: true, subtree: true}});
  show();
}})();
</script>"""


def scroll_script(index: int) -> str:
    """Scroll the page to the start of turn `index` once the run has finished drawing (Streamlit would
    otherwise leave a chat page at its bottom); a reader who scrolls meanwhile is left alone."""
    return f"""<script>
(() => {{
  const n = {int(index)};
  if (window.__kadScrolled === n) return;
  window.__kadScrolled = n;
  let moved = false;
  const stop = () => {{ moved = true; }};
  ['wheel', 'touchmove', 'keydown'].forEach((e) => window.addEventListener(e, stop, {{once: true, passive: true}}));
  const go = () => {{
    const el = document.querySelector('.st-key-turn_' + n);
    if (el && !moved) el.scrollIntoView({{block: 'start'}});
  }};
  const started = Date.now();
  const wait = () => {{
    const app = document.querySelector('[data-testid="stApp"]');
    go();
    // the last elements may still be laid out (and the chat box pull the page down) after the run ends,
    // on a loaded machine most of all: put the answer's start back a few times, unless the reader scrolled
    if (app && app.dataset.testScriptState === 'notRunning') {{ [250, 700, 1500].forEach((t) => setTimeout(go, t)); return; }}
    if (Date.now() - started < 10000) setTimeout(wait, 100);
  }};
  setTimeout(wait, 50);
}})();
</script>"""
