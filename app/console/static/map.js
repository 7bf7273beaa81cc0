/* wardcam console map. A classic script loaded after leaflet.js (and leaflet.draw.js for
   drawing): every <div data-map> (templates/_macros.html, macro `map`) becomes a Leaflet map
   with its cameras, a scale bar and, when WARDCAM_MAP_TILES is set and reachable, tiles; on a
   closed network it stays a plain background. data-draw: the drawn area goes into the form's
   hidden near+radius_m / bbox / polygon fields (GET /events terms). data-pick: a click or a
   dragged marker sets latitude/longitude inputs. All text comes from data-strings.
   window.wardcam.maps[id] = {map, markers, openCamera(id)}. */
(function () {
  'use strict';
  var W = window.wardcam = window.wardcam || {};
  var maps = W.maps = W.maps || {};
  var PLACE = ['near', 'radius_m', 'bbox', 'polygon'];

  function fill(text, values) {
    return String(text || '').replace(/\{(\w+)\}/g, function (m, k) {
      return k in values ? values[k] : m;
    });
  }
  function f6(x) { return x.toFixed(6); }
  function escapeHtml(text) {
    var p = document.createElement('p');
    p.textContent = text || '';
    return p.innerHTML;
  }
  function merge(into, from) {
    Object.keys(from).forEach(function (k) {
      if (from[k] && typeof from[k] === 'object' && into[k] && typeof into[k] === 'object') {
        merge(into[k], from[k]);
      } else {
        into[k] = from[k];
      }
    });
  }

  function popup(cam, S) {
    var box = document.createElement('div');
    var name = box.appendChild(document.createElement('strong'));
    name.textContent = cam.name;
    if (cam.detail) box.appendChild(document.createElement('div')).textContent = cam.detail;
    if (cam.url) {
      var a = box.appendChild(document.createElement('div')).appendChild(document.createElement('a'));
      a.href = cam.url;
      a.textContent = S.open;
    }
    return box;
  }

  function tiles(map, el, S, say) {
    var url = el.dataset.tiles, loaded = 0, failed = 0;
    if (!url) {
      say(S.noTiles);
      return;
    }
    var layer = L.tileLayer(url, { maxZoom: 19, attribution: escapeHtml(el.dataset.attribution) })
      .on('tileload', function () { loaded++; })
      .on('tileerror', function () { failed++; })
      .on('load', function () {
        if (!loaded && failed) {
          // Not during Leaflet's own 'load' dispatch: it still reads the map afterwards.
          setTimeout(function () { map.removeLayer(layer); }, 0);
          say(S.tilesFailed);
        }
      });
    layer.addTo(map);
  }

  // The fields of `form` for `layer` (a circle, rectangle or polygon; null clears them).
  function placeOf(layer, S, lang) {
    var v = {}, text = S.cleared;
    if (layer instanceof L.Circle) {
      var c = layer.getLatLng().wrap(), r = Math.max(1, Math.round(layer.getRadius()));
      v.near = f6(c.lat) + ',' + f6(c.lng);
      v.radius_m = String(r);
      text = fill(S.circle, { radius: r.toLocaleString(lang), lat: f6(c.lat), lon: f6(c.lng) });
    } else if (layer instanceof L.Rectangle) {
      var b = layer.getBounds(), sw = b.getSouthWest().wrap(), ne = b.getNorthEast().wrap();
      v.bbox = [sw.lng, sw.lat, ne.lng, ne.lat].map(f6).join(',');
      text = fill(S.rectangle, { south: f6(sw.lat), west: f6(sw.lng), north: f6(ne.lat), east: f6(ne.lng) });
    } else if (layer instanceof L.Polygon) {
      var ring = layer.getLatLngs()[0].map(function (p) {
        p = p.wrap();
        return [Number(f6(p.lng)), Number(f6(p.lat))];
      });
      ring.push(ring[0]);
      v.polygon = JSON.stringify({ type: 'Polygon', coordinates: [ring] });
      text = fill(S.polygon, { points: ring.length - 1 });
    }
    return { values: v, text: text };
  }

  // A shape already in the form (a re-rendered search), drawn again.
  function shapeIn(form) {
    function val(n) {
      var input = form.elements.namedItem(n);
      return input && !input.disabled ? input.value : '';
    }
    try {
      if (val('near') && val('radius_m')) {
        return L.circle(val('near').split(',').map(Number), { radius: Number(val('radius_m')) });
      }
      if (val('bbox')) {
        var b = val('bbox').split(',').map(Number);
        return L.rectangle([[b[1], b[0]], [b[3], b[2]]]);
      }
      if (val('polygon')) {
        return L.polygon(JSON.parse(val('polygon')).coordinates[0].slice(0, -1).map(function (p) {
          return [p[1], p[0]];
        }));
      }
    } catch (err) { /* a malformed value is the server's to report */ }
    return null;
  }

  function draw(map, form, S, say, lang) {
    if (!form || !L.Control.Draw) throw new Error('data-draw needs a form id and leaflet.draw.js');
    merge(L.drawLocal, S.draw || {});
    // leaflet-draw's vertex handles are markers; Leaflet makes every marker a nameless
    // focusable "button" unless told otherwise. Cameras and the location pin ask for it.
    L.Marker.prototype.options.keyboard = false;
    var shapes = new L.FeatureGroup().addTo(map);
    map.addControl(new L.Control.Draw({
      position: 'topright',
      draw: {
        polyline: false, marker: false, circlemarker: false,
        polygon: { allowIntersection: false, showArea: true, metric: true },
        rectangle: { showArea: true, metric: true },
        circle: { metric: true, feet: false }
      },
      edit: { featureGroup: shapes }
    }));
    function write(layer) {
      var place = placeOf(layer, S, lang);
      PLACE.forEach(function (name) {
        var input = form.elements.namedItem(name);
        if (input) {
          input.value = place.values[name] || '';
          input.disabled = !place.values[name];
        }
      });
      say(place.text);
      form.dispatchEvent(new CustomEvent('wardcam:place', { bubbles: true, detail: place.values }));
    }
    map.on(L.Draw.Event.CREATED, function (e) {
      shapes.clearLayers();  // one place per search
      shapes.addLayer(e.layer);
      write(e.layer);
    });
    map.on(L.Draw.Event.EDITED, function () { shapes.eachLayer(write); });
    map.on(L.Draw.Event.DELETED, function () {
      if (!shapes.getLayers().length) write(null);
    });
    var existing = shapeIn(form);
    if (existing) {
      shapes.addLayer(existing);
      map.fitBounds(existing.getBounds(), { maxZoom: 17 });
      say(placeOf(existing, S, lang).text);
    }
  }

  var COMMA = /^\s*[-+]?\d+,\d+\s*$/;
  var PAIR = /^\s*([-+]?\d+(?:\.\d+)?)\s*[,;]\s*([-+]?\d+(?:\.\d+)?)\s*$/;
  function decimal(text) { return parseFloat(COMMA.test(text) ? text.replace(',', '.') : text); }

  function pick(map, ids, S, say) {
    var lat = document.getElementById(ids[0]), lon = document.getElementById(ids[1]), marker = null;
    if (!lat || !lon) throw new Error('data-pick needs "latitude-input-id,longitude-input-id"');
    function place(ll) {
      if (marker) return marker.setLatLng(ll);
      marker = L.marker(ll, {
        draggable: true, keyboard: true, title: S.location, alt: S.location,
        icon: new L.Icon.Default({ className: 'pick-marker' })
      }).addTo(map);
      marker.on('dragend', function () { set(marker.getLatLng()); });
    }
    function set(ll) {
      ll = L.latLng(ll).wrap();
      lat.value = f6(ll.lat);
      lon.value = f6(ll.lng);
      place(ll);
      say(fill(S.picked, { lat: lat.value, lon: lon.value }));
    }
    function typed(event) {
      // as the server reads them: a decimal comma (a Vietnamese keypad's), or both pasted
      // into the latitude ("10.7725, 106.698", as a map application copies a place)
      var pair = PAIR.exec(lat.value);
      if (pair && !COMMA.test(lat.value)) {
        if (lon.value.trim()) return;  // both typed: the server says the latitude is wrong
        lat.value = pair[1];
        lon.value = pair[2];
      }
      var a = decimal(lat.value), b = decimal(lon.value);
      if (isFinite(a) && isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180) {
        place([a, b]);
        map.panTo([a, b], { animate: false });
        if (event) say(fill(S.picked, { lat: lat.value, lon: lon.value }));
      }
    }
    map.on('click', function (e) { set(e.latlng); });
    lat.addEventListener('change', typed);
    lon.addEventListener('change', typed);
    typed(null);
  }

  function setup(el) {
    var d = el.dataset, S = JSON.parse(d.strings || '{}'), cams = JSON.parse(d.cameras || '[]');
    var lang = document.documentElement.lang || 'en';
    var status = document.getElementById(el.id + '-status');
    function say(text) { if (status) status.textContent = text || ''; }
    var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    var map = L.map(el, {
      center: (d.center || '16,106').split(',').map(Number), zoom: Number(d.zoom) || 5,
      zoomControl: false, zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still
    });
    L.control.zoom({ zoomInTitle: S.zoomIn, zoomOutTitle: S.zoomOut }).addTo(map);
    map.attributionControl.setPrefix(false);
    map.on('popupopen', function (e) {  // Leaflet names its close button in English
      var close = e.popup.getElement().querySelector('.leaflet-popup-close-button');
      if (close) close.setAttribute('aria-label', S.close);
    });
    L.control.scale({ imperial: false }).addTo(map);
    tiles(map, el, S, say);
    var markers = {}, group = L.featureGroup().addTo(map);
    cams.forEach(function (cam) {
      markers[cam.id] = L.marker([cam.lat, cam.lon], { title: cam.name, alt: cam.name, keyboard: true })
        .bindPopup(popup(cam, S)).addTo(group);
    });
    if (d.fit !== 'false' && cams.length) map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [24, 24] });
    function openCamera(id) {
      var m = markers[id];
      if (!m) return false;
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 16));
      m.openPopup();
      return true;
    }
    if (d.draw) draw(map, document.getElementById(d.draw), S, say, lang);
    if (d.pick) pick(map, d.pick.split(','), S, say);
    if (d.open) openCamera(d.open);
    maps[el.id] = { map: map, markers: markers, openCamera: openCamera };
    return maps[el.id];
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-map]'), function (el) {
      if (!el._leaflet_id) setup(el);  // new maps only (htmx may swap some in)
    });
  }
  W.initMaps = init;
  document.addEventListener('htmx:load', init);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
