// Starts Swagger UI on /docs from the vendored bundle (a file, not an inline script: the
// console's Content-Security-Policy refuses inline scripts). validatorUrl: null, or Swagger
// UI fetches a badge from validator.swagger.io for any spec not served from localhost.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: el.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    oauth2RedirectUrl: window.location.origin + "/docs/oauth2-redirect",
  });
})();
