/*
 * hub-webhook-in - HTTP intake: a help desk (or anything that can POST
 * JSON) sends events, they are published to hubd.
 *
 *   hub-webhook-in --config FILE [--hub EP] [--listen ADDR:PORT] [--log-level L]
 *   hub-webhook-in --config FILE --check
 *   hub-webhook-in --map MAPPING.yaml [PAYLOAD.json|-]
 *
 * Exit codes: 0 clean stop (SIGTERM, SIGINT) or check passed, 1 a startup
 * failure (one line on stderr), 2 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpd_cli.h"
#include "httpd_listen.h"
#include "httpd_signals.h"
#include "intake.h"
#include "json.h"
#include "log.h"
#include "mapping.h"
#include "server.h"
#include "settings.h"
#include "yamldoc.h"

#ifndef WH_VERSION
#define WH_VERSION "unknown"
#endif

#define S_PROGRAM "hub-webhook-in"

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: " S_PROGRAM " --config FILE [--hub EP] [--listen ADDR:PORT] [--log-level LEVEL]\n"
            "       " S_PROGRAM " --config FILE --check\n"
            "       " S_PROGRAM " --map MAPPING.yaml [PAYLOAD.json|-]\n"
            "\n"
            "Takes events over HTTP and publishes them to hubd, the Switchboard hub.\n"
            "\n"
            "  POST /events    one JSON event or a list; 202 {\"accepted\":[{\"id\",\"seq\",...}]}\n"
            "                  once the hub has stored every one; 400 names a bad field,\n"
            "                  401 bad credential, 413 too large, 503 hub not answering\n"
            "                  (send the same body again: it is stored once)\n"
            "  GET  /healthz   200 when the hub answers, else 503\n"
            "\n"
            "options:\n"
            "  -c, --config FILE     settings: listen, hub, sources (tokens, HMAC secrets,\n"
            "                        mappings); see deploy/webhook-in.yaml\n"
            "      --hub EP          the hub's endpoint (default: the file's hub:, else\n"
            "                        $HUB_ENDPOINT, else %s)\n"
            "      --listen A:P      HTTP address (default: the file's listen:, else\n"
            "                        127.0.0.1:8080; port 0 takes a free port)\n"
            "      --log-level L     debug, info, warn or error\n"
            "      --check           load the settings and mappings, report, and exit\n"
            "      --map MAPPING     print the event a mapping makes of a payload (a file,\n"
            "                        or standard input), without a hub\n"
            "  -h, --help            this text\n"
            "      --version         the version\n"
            "\n"
            "On start it prints \"listening on ADDR:PORT\" on standard output. SIGTERM or\n"
            "SIGINT stops it after the request in progress.\n",
            HUB_DEFAULT_ENDPOINT);
}

/* Reads all of a stream (at most limit bytes). NULL on failure. */
static char *s_read_stream(FILE *in, size_t limit, size_t *len_p)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    while (text) {
        if (len + 1 >= cap) {
            if (cap > limit) {
                free(text);
                return NULL;
            }
            char *grown = realloc(text, cap * 2);
            if (!grown) {
                free(text);
                return NULL;
            }
            text = grown;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len - 1, in);
        len += got;
        if (got == 0)
            break;
    }
    if (text && ferror(in)) {
        free(text);
        return NULL;
    }
    if (text) {
        text[len] = '\0';
        *len_p = len;
    }
    return text;
}

/* --map: the event a mapping makes of one payload, as the hub would store it. */
static int s_try_mapping(const char *mapping_path, const char *payload_path)
{
    char err[HUB_ERR_LEN] = "";
    char field[WH_FIELD_LEN] = "";
    wh_mapping_t *mapping = wh_mapping_load(mapping_path, err);
    if (!mapping)
        return httpd_cli_fail(S_PROGRAM, "%s", err);
    int use_stdin = !payload_path || strcmp(payload_path, "-") == 0;
    FILE *in = use_stdin ? stdin : fopen(payload_path, "rb");
    if (!in) {
        wh_mapping_destroy(&mapping);
        return httpd_cli_fail(S_PROGRAM, "%s: cannot open it", payload_path);
    }
    size_t len = 0;
    char *text = s_read_stream(in, 64u * 1024 * 1024, &len);
    if (!use_stdin)
        fclose(in);
    const char *name = use_stdin ? "standard input" : payload_path;
    int status = HTTPD_CLI_OK;
    json_error_t jerr;
    json_t *payload = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    json_t *event = NULL;
    Hub__Event *ev = NULL;
    if (!text)
        status = httpd_cli_fail(S_PROGRAM, "%s: cannot read it", name);
    else if (!payload)
        status = httpd_cli_fail(S_PROGRAM, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
    else if (wh_mapping_apply(mapping, payload, &event, field, err) < 0)
        status = httpd_cli_fail(S_PROGRAM, "%s: %s", name, err);
    else if (hub_event_from_json_value(event, &ev, err) < 0)
        status = httpd_cli_fail(S_PROGRAM, "%s: the mapped event is refused: %s", name, err);
    else {
        char *out = hub_message_to_json_text(&ev->base);
        if (out)
            printf("%s\n", out);
        else
            status = httpd_cli_fail(S_PROGRAM, "out of memory");
        free(out);
    }
    if (ev)
        hub__event__free_unpacked(ev, NULL);
    json_decref(event);
    json_decref(payload);
    free(text);
    wh_mapping_destroy(&mapping);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option own[] = {
        {"map", required_argument, NULL, HTTPD_CLI_EXTRA},
        {NULL, 0, NULL, 0},
    };
    static const httpd_cli_program_t program = {
        .name = S_PROGRAM, .version = WH_VERSION, .usage = s_usage, .extra = own};
    httpd_cli_t cli;
    int exit_now = httpd_cli_parse(&program, argc, argv, &cli);
    if (exit_now >= 0)
        return exit_now;
    const char *config = cli.config, *map = cli.extra[0];
    if (map) {
        if (argc - optind > 1)
            return httpd_cli_usage_error(S_PROGRAM, "--map takes one payload file");
        return s_try_mapping(map, optind < argc ? argv[optind] : NULL);
    }
    if (optind < argc)
        return httpd_cli_usage_error(S_PROGRAM, "unexpected argument \"%s\"", argv[optind]);
    if (!config)
        return httpd_cli_usage_error(S_PROGRAM, "--config FILE is needed: it names the sources allowed to post");

    wh_settings_t settings;
    wh_settings_init(&settings);
    char err[HUB_ERR_LEN] = "";
    int status = HTTPD_CLI_OK;
    wh_intake_t *intake = NULL;
    wh_server_t *server = NULL;
    if (wh_settings_load(&settings, config, err) < 0) {
        status = httpd_cli_fail(S_PROGRAM, "%s", err);
        goto done;
    }
    status = httpd_cli_overlay(&cli, S_PROGRAM, settings.hub, sizeof settings.hub, settings.listen,
                               sizeof settings.listen, wh_listen_parse, &settings.log_level);
    if (status != HTTPD_CLI_OK)
        goto done;
    if (settings.nsources == 0) {
        status = httpd_cli_fail(
            S_PROGRAM, "%s: no sources: nobody could post (add sources: - name: ..., token_file: ...)", config);
        goto done;
    }
    if (cli.check) {
        size_t mapped = 0;
        for (size_t i = 0; i < settings.nsources; i++)
            mapped += settings.sources[i].mapping != NULL;
        printf("ok: %zu source%s, %zu with a mapping, listen %s\n", settings.nsources,
               settings.nsources == 1 ? "" : "s", mapped, settings.listen);
        goto done;
    }
    hub_log_init(S_PROGRAM, settings.log_level);

    sigset_t stop;
    httpd_signals_block(&stop, 0); /* before libzmq and libmicrohttpd start threads */

    intake = wh_intake_new(&settings, err);
    if (!intake) {
        status = httpd_cli_fail(S_PROGRAM, "hub client: %s", err);
        goto done;
    }
    server = wh_server_new(&settings, intake, err);
    if (!server) {
        status = httpd_cli_fail(S_PROGRAM, "%s", err);
        goto done;
    }
    char shown[HTTPD_SHOWN_LEN];
    httpd_listen_announce(settings.listen, wh_server_port(server), shown, sizeof shown);
    hub_info("listening on %s, %zu source%s, hub %s", shown, settings.nsources, settings.nsources == 1 ? "" : "s",
             settings.hub[0] ? settings.hub : "(default)");
    int sig = httpd_signals_wait(&stop);
    hub_info("stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
done:
    wh_server_destroy(&server);
    wh_intake_destroy(&intake);
    wh_settings_fini(&settings);
    return status;
}
