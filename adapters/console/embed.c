/*
 * embed - writes the web app's files as a C source file for hub-console
 * (assets.h), at build time:
 *
 *     embed OUTPUT.c FILE...
 *
 * Each FILE is served at "/" + its base name, with a content type taken
 * from its extension. Exits 1 with a message naming the file when one
 * cannot be read, has a name that is not a plain URL path, or appears
 * twice; 2 for usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_FILE (16u * 1024 * 1024) /* bytes of one embedded file */

static const struct {
    const char *ext;
    const char *type;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {NULL, NULL},
};

static const char *s_type_of(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; s_types[i].ext; i++) {
        size_t elen = strlen(s_types[i].ext);
        if (len > elen && strcmp(name + len - elen, s_types[i].ext) == 0)
            return s_types[i].type;
    }
    return "application/octet-stream";
}

static const char *s_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* 1 when name can be a URL path segment as it is. */
static int s_plain(const char *name)
{
    if (!*name || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.'
              || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static int s_fail(const char *what, const char *path)
{
    fprintf(stderr, "embed: %s: %s\n", path, what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: embed OUTPUT.c FILE...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!s_plain(s_base(argv[i])))
            return s_fail("the name must be letters, digits, '.', '-' or '_'", argv[i]);
        for (int j = 2; j < i; j++)
            if (strcmp(s_base(argv[i]), s_base(argv[j])) == 0)
                return s_fail("two files of the same name", argv[i]);
    }
    FILE *out = fopen(argv[1], "w");
    if (!out)
        return s_fail(strerror(errno), argv[1]);
    fprintf(out, "/* Written by embed from the web app's files: do not edit. */\n"
                 "#include <string.h>\n\n#include \"assets.h\"\n\n");
    unsigned char *data = malloc(S_MAX_FILE + 1);
    size_t *lens = calloc((size_t)argc, sizeof *lens);
    if (!data || !lens) {
        free(data);
        free(lens);
        fclose(out);
        return s_fail("out of memory", argv[1]);
    }
    for (int i = 2; i < argc; i++) {
        FILE *in = fopen(argv[i], "rb");
        if (!in) {
            free(data);
            free(lens);
            fclose(out);
            return s_fail(strerror(errno), argv[i]);
        }
        size_t len = fread(data, 1, S_MAX_FILE + 1, in);
        int bad = ferror(in);
        fclose(in);
        if (bad || len > S_MAX_FILE) {
            free(data);
            free(lens);
            fclose(out);
            return s_fail(bad ? "cannot read it" : "larger than 16 MiB", argv[i]);
        }
        lens[i] = len;
        fprintf(out, "static const unsigned char s_file%d[%zu] = {", i - 2, len ? len : 1);
        for (size_t k = 0; k < len; k++)
            fprintf(out, "%s%u,", k % 20 == 0 ? "\n    " : "", data[k]);
        if (len == 0)
            fprintf(out, "0");
        fprintf(out, "\n};\n\n");
    }
    free(data);
    fprintf(out, "const cs_asset_t cs_assets[] = {\n");
    for (int i = 2; i < argc; i++)
        fprintf(out, "    {\"/%s\", \"%s\", s_file%d, %zu},\n", s_base(argv[i]), s_type_of(s_base(argv[i])), i - 2,
                lens[i]);
    free(lens);
    if (argc == 2)
        fprintf(out, "    {\"\", \"\", NULL, 0},\n");
    fprintf(out, "};\n\nconst size_t cs_assets_count = %d;\n\n", argc - 2);
    fprintf(out, "const cs_asset_t *cs_asset_find(const char *path)\n"
                 "{\n"
                 "    if (strcmp(path, \"/\") == 0)\n"
                 "        path = \"/index.html\";\n"
                 "    for (size_t i = 0; i < cs_assets_count; i++)\n"
                 "        if (strcmp(cs_assets[i].path, path) == 0)\n"
                 "            return &cs_assets[i];\n"
                 "    return NULL;\n"
                 "}\n");
    if (fclose(out) != 0)
        return s_fail(strerror(errno), argv[1]);
    return 0;
}
