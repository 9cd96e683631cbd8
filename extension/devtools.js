// The DevTools page: adds the Pollscope panel to every DevTools window. Path from the
// extension root, which Chrome and Firefox both resolve the same way.
"use strict";

chrome.devtools.panels.create("Pollscope", "", "/extension/panel.html");
