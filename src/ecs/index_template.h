// The index template the _bulk output installs before its first document (PUT
// _index_template/<name>): config/elastic/index-template.json, compiled in, with its
// index_patterns and priority set from the configuration. OpenSearch gets the same mappings with
// the two types it may lack (wildcard -> keyword, match_only_text -> text). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace drosera::ecs {

enum class Flavor { kElasticsearch, kOpenSearch };

// config/elastic/index-template.json as it was at build time.
std::string_view builtinIndexTemplate();

struct TemplateOptions {
  std::string index_pattern = "drosera-*";  // what the template applies to
  bool data_stream = false;
  int priority = 200;
  Flavor flavor = Flavor::kElasticsearch;
};

// The request body; an error when `template_json` is not a JSON object with a "template".
core::Result<std::string> buildIndexTemplate(std::string_view template_json,
                                             const TemplateOptions& options);
// The flavor announced by the root endpoint's answer (GET /): OpenSearch says
// version.distribution = "opensearch"; anything else is Elasticsearch.
Flavor flavorFromRootAnswer(std::string_view body);

}  // namespace drosera::ecs
