/* The issue editor's script, served by the preview itself (no network, no CDN). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("editor-data").textContent);
  document.getElementById("editor").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = new URLSearchParams({token: config.token, digest: config.digest, data: JSON.stringify(config.data)});
    fetch("/issue/" + config.number + "/edit/save", {method: "POST", body: body})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        document.getElementById("save-status").textContent = answer.saved ? "Saved " + answer.saved + "." : answer.message;
      });
  });
})();
