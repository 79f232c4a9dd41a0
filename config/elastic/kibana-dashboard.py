#!/usr/bin/env python3
"""Writes kibana-dashboard.ndjson: Kibana 8.8+ saved objects for drosera's ECS documents.

A data view on drosera-* (the default daily indices of the _bulk output), one Lens
visualisation per panel, a saved search, and the "drosera honeypot" dashboard that places them.
Import with Stack Management > Saved objects > Import, or
  curl -X POST 'http://kibana:5601/api/saved_objects/_import?overwrite=true' \
       -H 'kbn-xsrf: true' --form file=@kibana-dashboard.ndjson
Run this script after changing a panel; tests/unit/ecs/kibana_objects_test.cc checks the result
(every reference resolves, every field is mapped by index-template.json).
"""
import json
import os

DATA_VIEW = "drosera-ecs"
CORE = "8.8.0"
LAYER = "layer1"


def count_column(label="Events", kql=None):
    col = {"label": label, "customLabel": True, "dataType": "number", "operationType": "count",
           "isBucketed": False, "scale": "ratio", "sourceField": "___records___",
           "params": {"emptyAsNull": True}}
    if kql:
        col["filter"] = {"query": kql, "language": "kuery"}
    return col


def terms_column(field, label, size, data_type="string"):
    return {"label": label, "customLabel": True, "dataType": data_type, "operationType": "terms",
            "scale": "ordinal", "sourceField": field, "isBucketed": True,
            "params": {"size": size, "orderBy": {"type": "column", "columnId": "count"},
                       "orderDirection": "desc", "otherBucket": True, "missingBucket": False,
                       "parentFormat": {"id": "terms"}, "include": [], "exclude": [],
                       "includeIsRegex": False, "excludeIsRegex": False}}


def date_column():
    return {"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
            "sourceField": "@timestamp", "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def lens(oid, title, description, vis_type, columns, visualization, query=""):
    return {
        "id": oid,
        "type": "lens",
        "managed": False,
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.6.0",
        "attributes": {
            "title": title,
            "description": description,
            "visualizationType": vis_type,
            "state": {
                "datasourceStates": {"formBased": {"layers": {LAYER: {
                    "columns": columns, "columnOrder": list(columns.keys()),
                    "incompleteColumns": {}}}}},
                "visualization": visualization,
                "query": {"query": query, "language": "kuery"},
                "filters": [],
                "internalReferences": [],
                "adHocDataViews": {},
            },
        },
        "references": [{"type": "index-pattern", "id": DATA_VIEW,
                        "name": "indexpattern-datasource-layer-" + LAYER}],
    }


def pie(oid, title, description, field, size, data_type="string"):
    columns = {"group": terms_column(field, title, size, data_type), "count": count_column()}
    vis = {"shape": "donut", "layers": [{
        "layerId": LAYER, "layerType": "data", "primaryGroups": ["group"], "metrics": ["count"],
        "numberDisplay": "percent", "categoryDisplay": "default", "legendDisplay": "default",
        "nestedLegend": False}]}
    return lens(oid, title, description, "lnsPie", columns, vis)


def bars(oid, title, description, field, size, data_type="string"):
    columns = {"group": terms_column(field, title, size, data_type), "count": count_column()}
    vis = {"legend": {"isVisible": False, "position": "right"}, "valueLabels": "show",
           "preferredSeriesType": "bar_horizontal",
           "layers": [{"layerId": LAYER, "layerType": "data", "seriesType": "bar_horizontal",
                       "xAccessor": "group", "accessors": ["count"], "position": "top",
                       "showGridlines": False}]}
    return lens(oid, title, description, "lnsXY", columns, vis)


def table(oid, title, description, field, size, data_type="string"):
    columns = {"group": terms_column(field, title, size, data_type), "count": count_column()}
    vis = {"layerId": LAYER, "layerType": "data",
           "columns": [{"columnId": "group"}, {"columnId": "count"}]}
    return lens(oid, title, description, "lnsDatatable", columns, vis)


def metric(oid, title, description, kql=None):
    columns = {"count": count_column(title, kql)}
    vis = {"layerId": LAYER, "layerType": "data", "metricAccessor": "count"}
    return lens(oid, title, description, "lnsMetric", columns, vis)


def timeline(oid):
    columns = {"time": date_column(), "kind": terms_column("event.kind", "Kind", 3),
               "count": count_column()}
    vis = {"legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide",
           "preferredSeriesType": "bar_stacked",
           "layers": [{"layerId": LAYER, "layerType": "data", "seriesType": "bar_stacked",
                       "xAccessor": "time", "splitAccessor": "kind", "accessors": ["count"],
                       "position": "top", "showGridlines": False}]}
    # The split column sorts by the count column; the histogram comes first.
    return lens(oid, "Events over time", "Requests per interval, alerts and plain events",
                "lnsXY", columns, vis)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    objects = [{
        "id": DATA_VIEW,
        "type": "index-pattern",
        "managed": False,
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.0.0",
        "attributes": {
            "title": "drosera-*",
            "name": "drosera events",
            "timeFieldName": "@timestamp",
            "allowNoIndex": True,
            "fields": "[]",
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "typeMeta": "{}",
        },
        "references": [],
    }]
    panels = [
        # (object, x, y, w, h)
        (metric("drosera-total-events", "Events", "All requests the sensors saw"), 0, 0, 8, 7),
        (metric("drosera-alerts", "Alerts", "Requests with a rule or trap hit",
                'event.kind : "alert"'), 8, 0, 8, 7),
        (metric("drosera-trap-hits", "Trap hits", "Requests that sprang a honeytrap",
                'event.action : "trap-hit"'), 16, 0, 8, 7),
        (timeline("drosera-events-over-time"), 24, 0, 24, 14),
        (pie("drosera-ports", "Ports hit", "destination.port: the listener (real or fake) hit",
             "destination.port", 10, "number"), 0, 7, 12, 14),
        (bars("drosera-source-ips", "Source IPs", "source.ip, top 15", "source.ip", 15, "ip"),
         12, 7, 12, 14),
        (bars("drosera-rule-messages", "Rule messages", "rule.name: the rule msg of each hit",
              "rule.name", 15), 24, 14, 24, 16),
        (pie("drosera-trap-kinds", "Honeytraps", "drosera.traps.kind: which bait was taken",
             "drosera.traps.kind", 10), 0, 21, 12, 14),
        (bars("drosera-attack-categories", "Attack categories",
              "drosera.categories: CRS attack classes and honeytrap", "drosera.categories", 12),
         12, 21, 12, 14),
        (table("drosera-user-agents", "User agents", "user_agent.original, top 20",
               "user_agent.original", 20), 0, 35, 24, 16),
        (table("drosera-techniques", "ATT&CK techniques", "threat.technique.name",
               "threat.technique.name", 10), 24, 30, 12, 12),
        (pie("drosera-countries", "Source countries",
             "source.geo.country_iso_code (with GeoIP configured)",
             "source.geo.country_iso_code", 10), 36, 30, 12, 12),
        (table("drosera-paths", "Requested paths", "url.path, top 20", "url.path", 20),
         24, 42, 24, 16),
    ]
    search = {
        "id": "drosera-event-log",
        "type": "search",
        "managed": False,
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.0.0",
        "attributes": {
            "title": "drosera event log",
            "description": "Every event, newest first",
            "columns": ["source.ip", "destination.port", "http.request.method", "url.original",
                        "http.response.status_code", "rule.name", "drosera.traps.kind"],
            "sort": [["@timestamp", "desc"]],
            "grid": {},
            "hideChart": True,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({
                "query": {"query": "", "language": "kuery"}, "filter": [],
                "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"})},
        },
        "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                        "type": "index-pattern", "id": DATA_VIEW}],
    }
    panel_json = []
    refs = []
    for n, (obj, x, y, w, h) in enumerate(panels, 1):
        objects.append(obj)
        pid = "p%d" % n
        panel_json.append({"type": "lens", "panelIndex": pid,
                           "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid},
                           "embeddableConfig": {"enhancements": {}},
                           "panelRefName": "panel_" + pid})
        refs.append({"name": pid + ":panel_" + pid, "type": "lens", "id": obj["id"]})
    objects.append(search)
    pid = "p%d" % (len(panels) + 1)
    panel_json.append({"type": "search", "panelIndex": pid,
                       "gridData": {"x": 0, "y": 58, "w": 48, "h": 20, "i": pid},
                       "embeddableConfig": {"enhancements": {}}, "panelRefName": "panel_" + pid})
    refs.append({"name": pid + ":panel_" + pid, "type": "search", "id": search["id"]})
    objects.append({
        "id": "drosera-dashboard",
        "type": "dashboard",
        "managed": False,
        "coreMigrationVersion": CORE,
        "typeMigrationVersion": "8.7.0",
        "attributes": {
            "title": "drosera honeypot",
            "description": "What the drosera sensors saw: ports, sources, user agents, rules, "
                           "honeytraps and attack categories (docs/ecs.md)",
            "panelsJSON": json.dumps(panel_json, separators=(",", ":")),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False,
                                       "syncCursor": True, "syncTooltips": False,
                                       "hidePanelTitles": False}),
            "version": 1,
            "timeRestore": True,
            "timeFrom": "now-24h",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []})},
        },
        "references": refs,
    })
    with open(os.path.join(here, "kibana-dashboard.ndjson"), "w") as f:
        for o in objects:
            f.write(json.dumps(o, separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
