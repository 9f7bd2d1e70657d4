// Placeholder until the page's own script lands (web-ui).
"use strict";
