// Configuration of the ECS outputs (docs/ecs.md): the document mapping, the optional GeoIP
// databases, the rotated NDJSON files and the Elasticsearch/OpenSearch _bulk output. Plain values
// with their defaults; the TOML loader maps the [ecs] table onto them (keys in docs/ecs.md).
// Secrets are never configuration values: only the names of the environment variables or files
// that hold them.
#pragma once

#include "core/config.h"

namespace drosera::ecs {

// The structs live in core/config.h so that the TOML loader fills them.
using EcsMappingConfig = core::EcsMappingConfig;
using GeoIpConfig = core::GeoIpConfig;
using EcsNdjsonConfig = core::EcsNdjsonConfig;
using EcsBulkConfig = core::EcsBulkConfig;
using EcsOutputConfig = core::EcsOutputConfig;

}  // namespace drosera::ecs
