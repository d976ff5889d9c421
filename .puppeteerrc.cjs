// The compatibility suite drives @modelcontextprotocol/server-puppeteer with Debian's Chromium
// (/usr/bin/chromium): puppeteer must not download a browser of its own when installed.
module.exports = { skipDownload: true };
