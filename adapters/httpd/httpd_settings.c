/*
 * httpd_settings - the common part of reading an HTTP adapter's settings
 * file (see httpd_settings.h).
 */
#include "httpd_settings.h"

#include <stdio.h>
#include <string.h>

/* The listen key: copied, then checked with the adapter's parser. */
static int s_listen(httpd_settings_file_t *file, const yaml_node_t *node, const httpd_settings_reader_t *reader)
{
    int rc = httpd_settings_copy(file, node, "listen", reader->listen, reader->listen_size, 0);
    struct sockaddr_storage addr;
    socklen_t len;
    char why[HUB_ERR_LEN];
    if (rc == 0 && reader->listen_parse(reader->listen, &addr, &len, why) < 0)
        rc = hub_yamldoc_error(file->doc, node, file->err, "listen: %s", why);
    return rc;
}

/* The log_level key: a level's name. */
static int s_log_level(httpd_settings_file_t *file, const yaml_node_t *node, const httpd_settings_reader_t *reader)
{
    const char *text = httpd_settings_scalar(file, node, "log_level", 0);
    int rc = text ? hub_log_level_parse(text, reader->log_level) : -HUB_ECONFIG;
    if (text && rc < 0)
        rc = hub_yamldoc_error(file->doc, node, file->err,
                               "log_level: \"%.32s\" is not one of debug, info, warn, error", text);
    return rc;
}

int httpd_settings_walk(const char *path, const httpd_settings_reader_t *reader, char err[HUB_ERR_LEN])
{
    hub_yamldoc_t doc;
    int rc = hub_yamldoc_load_file(&doc, path, err);
    if (rc < 0) {
        hub_yamldoc_fini(&doc);
        return rc;
    }
    httpd_settings_file_t file = {.doc = &doc, .err = err};
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(file.dir, sizeof file.dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    yaml_node_t *root = hub_yamldoc_root(&doc);
    if (root->type != YAML_MAPPING_NODE)
        rc = hub_yamldoc_error(&doc, root, err, "%s", reader->not_mapping);
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         rc == 0 && root->type == YAML_MAPPING_NODE && pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(&doc, pair->key);
        yaml_node_t *v = hub_yamldoc_node(&doc, pair->value);
        const char *key = hub_yamldoc_scalar(k);
        if (!key)
            rc = hub_yamldoc_error(&doc, k, err, "a key must be a name");
        else if (strcmp(key, "listen") == 0)
            rc = s_listen(&file, v, reader);
        else if (strcmp(key, "log_level") == 0)
            rc = s_log_level(&file, v, reader);
        else
            rc = reader->on_key(&file, key, k, v, reader->arg);
    }
    hub_yamldoc_fini(&doc);
    return rc;
}

const char *httpd_settings_scalar(httpd_settings_file_t *file, const yaml_node_t *node, const char *what, int empty_ok)
{
    const char *text = hub_yamldoc_scalar(node);
    if (!text) {
        hub_yamldoc_error(file->doc, node, file->err, "%s: expected a single value, not a %s", what,
                          node->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    if (hub_yamldoc_is_null(node))
        text = "";
    if (!*text && !empty_ok) {
        hub_yamldoc_error(file->doc, node, file->err, "%s: empty", what);
        return NULL;
    }
    return text;
}

int httpd_settings_copy(httpd_settings_file_t *file, const yaml_node_t *node, const char *what, char *out, size_t size,
                        int empty_ok)
{
    const char *text = httpd_settings_scalar(file, node, what, empty_ok);
    if (!text)
        return -HUB_ECONFIG;
    if (strlen(text) >= size)
        return hub_yamldoc_error(file->doc, node, file->err, "%s: too long (at most %zu bytes)", what, size - 1);
    memcpy(out, text, strlen(text) + 1);
    return 0;
}
