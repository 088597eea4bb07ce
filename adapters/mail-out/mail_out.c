/*
 * hub-mail-out - a department outlet that sends each notification as an
 * email over SMTP (libcurl): smtp:// with optional STARTTLS, or smtps://,
 * login optional, From, subject and body from templates, one recipient
 * list per topic pattern.
 *
 * Rules (the loop's own are in outlet_run.h):
 *   1. The recipients are those of the first mail.recipients rule whose
 *      topic pattern matches the notification's topic ('*' matches any run
 *      of characters). No rule matching is a dead letter: the config says
 *      nobody should get it, and a retry cannot change that.
 *   2. Delivered (acked) only when the server accepted the message (250
 *      after DATA). A message goes to all of its recipients or to none: one
 *      refused recipient fails the whole send, and a retry sends it to all.
 *   3. A 4xx reply, a timeout or a connection error: retried. A 5xx reply
 *      (a refused recipient, a refused sender): dead-lettered at once, or
 *      retried when smtp.on_refused is "retry".
 *   4. The message has Date, From, To, Subject (RFC 2047 encoded when not
 *      ASCII), Message-ID (the same for every try of one notification, so a
 *      mail client folds a duplicate), and X-Switchboard-* headers. Template
 *      values in headers lose their control characters: no header can be
 *      injected through an event field.
 *   5. The password never reaches a log line or a nack reason.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "outlet_config.h"
#include "outlet_curl.h"
#include "outlet_run.h"
#include "outlet_template.h"
#include "sha256.h"

#define S_PROGRAM "hub-mail-out"
#define S_MAX_RULES 64      /* mail.recipients rules at most */
#define S_MAX_ADDRESS 254   /* bytes of one address */
#define S_LINE 512          /* bytes of a remembered SMTP line */

typedef struct {
    char **topics;  /* patterns */
    size_t ntopics; /* how many */
    char **to;      /* addresses */
    size_t nto;     /* how many */
} s_rule_t;

typedef struct {
    int have_smtp, have_mail;       /* sections read */
    char *url;                      /* smtp://host:port or smtps://... */
    long use_ssl;                   /* CURLUSESSL_NONE, _TRY or _ALL */
    char *username;                 /* login, or NULL */
    char *password;                 /* its password, or NULL */
    int64_t timeout_ms;             /* whole send */
    int64_t connect_timeout_ms;     /* connecting */
    int refused_retry;              /* 1: a 5xx is retried, not dead-lettered */
    char *from;                     /* From: header as configured */
    char from_addr[S_MAX_ADDRESS + 1]; /* its address, for MAIL FROM */
    char domain[S_MAX_ADDRESS + 1]; /* the From address's domain, for Message-ID */
    outlet_template_t *subject;     /* subject template */
    outlet_template_t *body;        /* body template */
    outlet_template_t *body_no_due; /* the default body without a deadline; NULL with mail.body */
    s_rule_t rules[S_MAX_RULES];    /* recipients per topic */
    size_t nrules;                  /* rules used */
    CURL *curl;                     /* reused: keeps the connection when it can */
} s_mail_t;

static s_mail_t s_self;

static const char *s_default_subject = "[{{topic}}] {{case_id}} {{event.subject}}";
/* The default body, with the "Respond by:" line only for a notification
 * that has a deadline. */
#define S_BODY_HEAD                                                                                                    \
    "{{event.subject}}\n"                                                                                              \
    "\n"                                                                                                               \
    "Case:      {{case_id}}\n"                                                                                         \
    "Customer:  {{customer.name}} ({{customer.tier}})\n"                                                               \
    "Type:      {{event.type}}, severity {{event.severity}}\n"                                                         \
    "Route:     {{route}} ({{reason}})\n"
#define S_BODY_DUE "Respond by: {{respond_by}}\n"
#define S_BODY_TAIL                                                                                                    \
    "\n"                                                                                                               \
    "{{event.body}}\n"                                                                                                 \
    "\n"                                                                                                               \
    "-- \n"                                                                                                            \
    "Switchboard notification {{seq}}.{{slot}}, event {{event_id}}\n"

static const char *s_default_body = S_BODY_HEAD S_BODY_DUE S_BODY_TAIL;
static const char *s_default_body_no_due = S_BODY_HEAD S_BODY_TAIL;

/* ---------------------------------------------------------- addresses */

/* 1 when text is a bare address we can put between <>: one '@', no
 * spaces, no control characters, no <>. */
static int s_address_ok(const char *text, size_t len)
{
    if (len == 0 || len > S_MAX_ADDRESS)
        return 0;
    size_t ats = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"')
            return 0;
        if (c == '@')
            ats++;
    }
    return ats == 1 && text[0] != '@' && text[len - 1] != '@';
}

/* Reads "Name <addr>" or "addr" into the envelope address and domain. */
static int s_parse_from(s_mail_t *self, const char *from)
{
    const char *open = strrchr(from, '<');
    const char *addr = from;
    size_t len = strlen(from);
    if (open) {
        const char *close = strchr(open, '>');
        if (!close || close[1] != '\0')
            return -1;
        addr = open + 1;
        len = (size_t)(close - addr);
    }
    for (const char *p = from; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            return -1;
    if (!s_address_ok(addr, len))
        return -1;
    memcpy(self->from_addr, addr, len);
    self->from_addr[len] = '\0';
    snprintf(self->domain, sizeof self->domain, "%s", strchr(self->from_addr, '@') + 1);
    return 0;
}

/* '*' matches any run of characters, everything else itself. */
static int s_match(const char *pat, const char *text)
{
    while (*pat) {
        if (*pat == '*') {
            while (*pat == '*')
                pat++;
            if (!*pat)
                return 1;
            for (const char *t = text; *t; t++)
                if (s_match(pat, t))
                    return 1;
            return 0;
        }
        if (*pat != *text)
            return 0;
        pat++;
        text++;
    }
    return *text == '\0';
}

/* -------------------------------------------------------------- config */

static int s_read_rules(s_mail_t *self, hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    if (node->type != YAML_SEQUENCE_NODE)
        return hub_yamldoc_error(doc, node, err,
                                 "mail.recipients: expected a list of rules like - { topic: \"finance.*\", to: "
                                 "[a@example.com] }");
    size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (count == 0 || count > S_MAX_RULES)
        return hub_yamldoc_error(doc, node, err, "mail.recipients: give 1 to %d rules", S_MAX_RULES);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = hub_yamldoc_node(doc, node->data.sequence.items.start[i]);
        char what[64];
        snprintf(what, sizeof what, "mail.recipients[%zu]", i + 1);
        if (!item)
            return hub_yamldoc_error(doc, node, err, "%s: missing", what);
        int rc = outlet_cfg_mapping(doc, what, item, err);
        if (rc < 0)
            return rc;
        s_rule_t *rule = &self->rules[self->nrules++];
        for (yaml_node_pair_t *pair = item->data.mapping.pairs.start; pair < item->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
            const char *key = k ? hub_yamldoc_scalar(k) : NULL;
            if (!key || !v)
                return hub_yamldoc_error(doc, k, err, "%s: keys must be plain words", what);
            if (strcmp(key, "topic") == 0 || strcmp(key, "topics") == 0) {
                rc = outlet_cfg_strings(doc, "mail.recipients.topic", v, &rule->topics, &rule->ntopics, err);
            } else if (strcmp(key, "to") == 0) {
                rc = outlet_cfg_strings(doc, "mail.recipients.to", v, &rule->to, &rule->nto, err);
                for (size_t j = 0; rc == 0 && j < rule->nto; j++)
                    if (!s_address_ok(rule->to[j], strlen(rule->to[j])))
                        rc = hub_yamldoc_error(doc, v, err,
                                               "%s.to: \"%.80s\" is not a plain address like ops@example.com", what,
                                               rule->to[j]);
            } else {
                rc = hub_yamldoc_error(doc, k, err, "%s: unknown key \"%.64s\" (known: topic, to)", what, key);
            }
            if (rc < 0)
                return rc;
        }
        if (rule->ntopics == 0)
            return hub_yamldoc_error(doc, item, err, "%s: missing \"topic\" (a pattern like \"finance.*\")", what);
        if (rule->nto == 0)
            return hub_yamldoc_error(doc, item, err, "%s: missing \"to\" (the recipients)", what);
    }
    return 0;
}

static int s_read_template(hub_yamldoc_t *doc, const char *what, yaml_node_t *v, outlet_template_t **out,
                           char err[HUB_ERR_LEN])
{
    char *text = NULL;
    int rc = outlet_cfg_string(doc, what, v, &text, err);
    if (rc < 0)
        return rc;
    char why[HUB_ERR_LEN];
    outlet_template_destroy(out);
    *out = outlet_template_new(text, why);
    free(text);
    if (!*out)
        return hub_yamldoc_error(doc, v, err, "%s: %s", what, why);
    return 0;
}

static int s_read_mail(s_mail_t *self, hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    int rc = outlet_cfg_mapping(doc, "mail", node, err);
    yaml_node_t *rules = NULL;
    for (yaml_node_pair_t *pair = rc == 0 ? node->data.mapping.pairs.start : NULL;
         rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *key = k ? hub_yamldoc_scalar(k) : NULL;
        if (!key || !v)
            return hub_yamldoc_error(doc, k, err, "mail: keys must be plain words");
        if (strcmp(key, "from") == 0) {
            rc = outlet_cfg_string(doc, "mail.from", v, &self->from, err);
            if (rc == 0 && s_parse_from(self, self->from) < 0)
                rc = hub_yamldoc_error(doc, v, err,
                                       "mail.from: expected \"Name <address>\" or an address, got \"%.80s\"",
                                       self->from);
        } else if (strcmp(key, "subject") == 0) {
            rc = s_read_template(doc, "mail.subject", v, &self->subject, err);
        } else if (strcmp(key, "body") == 0) {
            rc = s_read_template(doc, "mail.body", v, &self->body, err);
        } else if (strcmp(key, "recipients") == 0) {
            rules = v;
            rc = s_read_rules(self, doc, v, err);
        } else {
            rc = hub_yamldoc_error(doc, k, err,
                                   "mail: unknown key \"%.64s\" (known: from, subject, body, recipients)", key);
        }
    }
    if (rc == 0 && !self->from)
        rc = hub_yamldoc_error(doc, node, err, "mail: missing \"from\" (e.g. \"Switchboard <hub@example.com>\")");
    if (rc == 0 && !rules)
        rc = hub_yamldoc_error(doc, node, err, "mail: missing \"recipients\" (a list of topic and to)");
    if (rc == 0)
        self->have_mail = 1;
    return rc;
}

static int s_read_smtp(s_mail_t *self, hub_yamldoc_t *doc, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    int rc = outlet_cfg_mapping(doc, "smtp", node, err);
    char *password_file = NULL, *password_env = NULL;
    const yaml_node_t *password_node = NULL;
    for (yaml_node_pair_t *pair = rc == 0 ? node->data.mapping.pairs.start : NULL;
         rc == 0 && pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = hub_yamldoc_node(doc, pair->key), *v = hub_yamldoc_node(doc, pair->value);
        const char *key = k ? hub_yamldoc_scalar(k) : NULL;
        const char *text = v ? hub_yamldoc_scalar(v) : NULL;
        if (!key || !v) {
            rc = hub_yamldoc_error(doc, k, err, "smtp: keys must be plain words");
            break;
        }
        if (strcmp(key, "url") == 0) {
            rc = outlet_cfg_string(doc, "smtp.url", v, &self->url, err);
            if (rc == 0 && strncmp(self->url, "smtp://", 7) != 0 && strncmp(self->url, "smtps://", 8) != 0)
                rc = hub_yamldoc_error(doc, v, err,
                                       "smtp.url: expected smtp://HOST[:PORT] or smtps://HOST[:PORT], got \"%.64s\"",
                                       self->url);
        } else if (strcmp(key, "use_ssl") == 0) {
            if (text && strcmp(text, "none") == 0)
                self->use_ssl = CURLUSESSL_NONE;
            else if (text && strcmp(text, "try") == 0)
                self->use_ssl = CURLUSESSL_TRY;
            else if (text && strcmp(text, "all") == 0)
                self->use_ssl = CURLUSESSL_ALL;
            else
                rc = hub_yamldoc_error(doc, v, err,
                                       "smtp.use_ssl: expected none, try (STARTTLS when offered) or all "
                                       "(STARTTLS required)");
        } else if (strcmp(key, "username") == 0) {
            rc = outlet_cfg_string(doc, "smtp.username", v, &self->username, err);
        } else if (strcmp(key, "password_file") == 0) {
            password_node = v;
            rc = outlet_cfg_string(doc, "smtp.password_file", v, &password_file, err);
        } else if (strcmp(key, "password_env") == 0) {
            password_node = v;
            rc = outlet_cfg_string(doc, "smtp.password_env", v, &password_env, err);
        } else if (strcmp(key, "timeout") == 0) {
            rc = outlet_cfg_duration(doc, "smtp.timeout", v, &self->timeout_ms, err);
        } else if (strcmp(key, "connect_timeout") == 0) {
            rc = outlet_cfg_duration(doc, "smtp.connect_timeout", v, &self->connect_timeout_ms, err);
        } else if (strcmp(key, "on_refused") == 0) {
            if (text && strcmp(text, "dead_letter") == 0)
                self->refused_retry = 0;
            else if (text && strcmp(text, "retry") == 0)
                self->refused_retry = 1;
            else
                rc = hub_yamldoc_error(doc, v, err, "smtp.on_refused: expected dead_letter or retry");
        } else {
            rc = hub_yamldoc_error(doc, k, err,
                                   "smtp: unknown key \"%.64s\" (known: url, use_ssl, username, password_file, "
                                   "password_env, timeout, connect_timeout, on_refused)",
                                   key);
        }
    }
    if (rc == 0 && !self->url)
        rc = hub_yamldoc_error(doc, node, err, "smtp: missing \"url\" (e.g. smtp://127.0.0.1:25)");
    if (rc == 0 && password_file && password_env)
        rc = hub_yamldoc_error(doc, password_node, err, "smtp: give password_file or password_env, not both");
    if (rc == 0 && (password_file || password_env) && !self->username)
        rc = hub_yamldoc_error(doc, password_node, err, "smtp: a password without a username");
    if (rc == 0)
        rc = outlet_cfg_secret(doc, password_node, "smtp", "password", password_file, password_env, &self->password,
                               err);
    free(password_file);
    free(password_env);
    if (rc == 0)
        self->have_smtp = 1;
    return rc;
}

static int s_section(void *arg, hub_yamldoc_t *doc, const char *key, yaml_node_t *node, char err[HUB_ERR_LEN])
{
    if (strcmp(key, "smtp") == 0)
        return s_read_smtp(arg, doc, node, err);
    if (strcmp(key, "mail") == 0)
        return s_read_mail(arg, doc, node, err);
    return 1;
}

static int s_prepare(void *arg, const char *config_path, char err[HUB_ERR_LEN])
{
    s_mail_t *self = arg;
    char why[HUB_ERR_LEN];
    if (!self->have_smtp || !self->have_mail) {
        snprintf(err, HUB_ERR_LEN, "%s: missing the \"%s\" section", config_path, !self->have_smtp ? "smtp" : "mail");
        return -HUB_ECONFIG;
    }
    if ((!self->subject && !(self->subject = outlet_template_new(s_default_subject, why)))
        || (!self->body && (!(self->body = outlet_template_new(s_default_body, why))
                            || !(self->body_no_due = outlet_template_new(s_default_body_no_due, why))))) {
        snprintf(err, HUB_ERR_LEN, "default template: %s", why);
        return -HUB_EINTERNAL;
    }
    if (!(self->curl = outlet_curl_new(err)))
        return -HUB_EINTERNAL;
    return 0;
}

static void s_cleanup(void *arg)
{
    s_mail_t *self = arg;
    outlet_curl_destroy(&self->curl);
    free(self->url);
    free(self->username);
    outlet_secret_free(&self->password);
    free(self->from);
    outlet_template_destroy(&self->subject);
    outlet_template_destroy(&self->body);
    outlet_template_destroy(&self->body_no_due);
    for (size_t i = 0; i < self->nrules; i++) {
        outlet_cfg_strings_free(&self->rules[i].topics, &self->rules[i].ntopics);
        outlet_cfg_strings_free(&self->rules[i].to, &self->rules[i].nto);
    }
    memset(self, 0, sizeof *self);
}

/* ------------------------------------------------------------ message */

typedef struct {
    char *data; /* NUL-terminated */
    size_t len; /* bytes */
    size_t cap; /* allocated */
    int failed; /* an allocation failed */
} s_text_t;

static void s_put(s_text_t *t, const char *data, size_t len)
{
    if (t->failed)
        return;
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + len + 1)
            cap *= 2;
        char *more = realloc(t->data, cap);
        if (!more) {
            t->failed = 1;
            return;
        }
        t->data = more;
        t->cap = cap;
    }
    memcpy(t->data + t->len, data, len);
    t->len += len;
    t->data[t->len] = '\0';
}

static void s_puts(s_text_t *t, const char *text)
{
    s_put(t, text, strlen(text));
}

/* Appends text with every line ending made CRLF. */
static void s_put_crlf(s_text_t *t, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\r' && p[1] == '\n')
            continue;
        if (*p == '\n' || *p == '\r')
            s_put(t, "\r\n", 2);
        else
            s_put(t, p, 1);
    }
}

/* Appends a header value: as it is when ASCII, else as RFC 2047 UTF-8
 * base64 encoded-words of whole characters, folded. */
static void s_put_header_value(s_text_t *t, const char *text)
{
    int ascii = 1;
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = 0;
    if (ascii) {
        s_puts(t, text);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(text), i = 0;
    while (i < len) {
        size_t n = len - i > 45 ? 45 : len - i;
        while (i + n < len && n > 0 && ((unsigned char)text[i + n] & 0xc0) == 0x80)
            n--; /* do not split a character */
        if (n == 0)
            n = 1;
        if (i > 0)
            s_puts(t, "\r\n ");
        s_puts(t, "=?UTF-8?B?");
        const unsigned char *s = (const unsigned char *)text + i;
        for (size_t j = 0; j < n; j += 3) {
            unsigned v = (unsigned)s[j] << 16 | (j + 1 < n ? (unsigned)s[j + 1] << 8 : 0) | (j + 2 < n ? s[j + 2] : 0);
            char out[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], j + 1 < n ? b64[(v >> 6) & 63] : '=',
                           j + 2 < n ? b64[v & 63] : '='};
            s_put(t, out, 4);
        }
        s_puts(t, "?=");
        i += n;
    }
}

/* Builds the whole message (rule 4). Returns it (the caller frees) or NULL. */
static char *s_message(const s_mail_t *self, const hub_notification_t *n, const json_t *doc, const s_rule_t *rule)
{
    s_text_t t = {0};
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S +0000\r\n", &tm);
    s_puts(&t, line);
    s_puts(&t, "From: ");
    s_puts(&t, self->from);
    s_puts(&t, "\r\nTo: ");
    for (size_t i = 0; i < rule->nto; i++) {
        if (i > 0)
            s_puts(&t, ",\r\n ");
        s_puts(&t, rule->to[i]);
    }
    char *subject = outlet_template_render(self->subject, doc, OUTLET_ESCAPE_LINE);
    if (!subject) {
        free(t.data);
        return NULL;
    }
    s_puts(&t, "\r\nSubject: ");
    s_put_header_value(&t, subject);
    free(subject);
    /* the same for every try of one notification */
    uint8_t digest[HUB_SHA256_LEN];
    char hex[HUB_SHA256_HEX_LEN];
    const char *event_id = hub_notification_event_id(n);
    hub_sha256(event_id, strlen(event_id), digest);
    hub_hex(digest, 8, hex);
    snprintf(line, sizeof line, "\r\nMessage-ID: <switchboard.%" PRIu64 ".%u.%s@%s>\r\n", hub_notification_seq(n),
             hub_notification_slot(n), hex, self->domain);
    s_puts(&t, line);
    s_puts(&t, "MIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n"
               "Auto-Submitted: auto-generated\r\n");
    char value[300];
    outlet_one_line(hub_notification_topic(n), strlen(hub_notification_topic(n)), 200, value, sizeof value);
    snprintf(line, sizeof line, "X-Switchboard-Topic: %s\r\n", value);
    s_puts(&t, line);
    outlet_one_line(event_id, strlen(event_id), 200, value, sizeof value);
    snprintf(line, sizeof line, "X-Switchboard-Event: %s\r\n", value);
    s_puts(&t, line);
    const char *case_id = hub_notification_case_id(n);
    if (*case_id) {
        outlet_one_line(case_id, strlen(case_id), 200, value, sizeof value);
        snprintf(line, sizeof line, "X-Switchboard-Case: %s\r\n", value);
        s_puts(&t, line);
    }
    s_puts(&t, "\r\n");
    const json_t *due = outlet_template_lookup(doc, "respond_by");
    int has_due = due && !json_is_null(due) && !(json_is_string(due) && !*json_string_value(due));
    char *body = outlet_template_render(self->body_no_due && !has_due ? self->body_no_due : self->body, doc,
                                        OUTLET_ESCAPE_PLAIN);
    if (!body) {
        free(t.data);
        return NULL;
    }
    s_put_crlf(&t, body);
    if (t.len < 2 || memcmp(t.data + t.len - 2, "\r\n", 2) != 0)
        s_puts(&t, "\r\n");
    free(body);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}

/* ------------------------------------------------------------- sending */

typedef struct {
    const char *data; /* the message */
    size_t len;       /* its bytes */
    size_t off;       /* bytes sent */
    char last_out[S_LINE]; /* our last command (AUTH without its argument) */
    char fail_in[S_LINE];  /* the server's first 4xx/5xx reply line, or "" */
    char fail_out[S_LINE]; /* the command it answered */
} s_upload_t;

static size_t s_on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    s_upload_t *u = arg;
    size_t room = size * nmemb, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static int s_on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)c;
    s_upload_t *u = arg;
    if (type == CURLINFO_HEADER_IN) {
        /* the first refusal, not the QUIT exchange that follows it */
        if (!u->fail_in[0] && size > 0 && (data[0] == '4' || data[0] == '5')) {
            outlet_one_line(data, size, S_LINE - 1, u->fail_in, sizeof u->fail_in);
            memcpy(u->fail_out, u->last_out, sizeof u->fail_out);
        }
    } else if (type == CURLINFO_HEADER_OUT) {
        if (size >= 4 && strncasecmp(data, "AUTH", 4) == 0)
            snprintf(u->last_out, sizeof u->last_out, "AUTH"); /* rule 5 */
        else
            outlet_one_line(data, size, S_LINE - 1, u->last_out, sizeof u->last_out);
    }
    return 0;
}

static void s_trim(char *text)
{
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == ' ')
        text[--len] = '\0';
}

static void s_deliver(void *arg, const hub_notification_t *n, const json_t *doc, outlet_result_t *res)
{
    s_mail_t *self = arg;
    const char *topic = hub_notification_topic(n);
    const s_rule_t *rule = NULL;
    for (size_t i = 0; !rule && i < self->nrules; i++)
        for (size_t j = 0; !rule && j < self->rules[i].ntopics; j++)
            if (s_match(self->rules[i].topics[j], topic))
                rule = &self->rules[i];
    if (!rule) { /* rule 1 */
        res->outcome = OUTLET_REJECTED;
        snprintf(res->detail, sizeof res->detail, "no mail.recipients rule matches topic %.100s", topic);
        return;
    }
    char *message = s_message(self, n, doc, rule);
    if (!message) {
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "out of memory building the message");
        return;
    }
    struct curl_slist *rcpt = NULL;
    char addr[S_MAX_ADDRESS + 3];
    int ok = 1;
    for (size_t i = 0; ok && i < rule->nto; i++) {
        snprintf(addr, sizeof addr, "<%s>", rule->to[i]);
        struct curl_slist *more = curl_slist_append(rcpt, addr);
        if (more)
            rcpt = more;
        else
            ok = 0;
    }
    if (!ok) {
        curl_slist_free_all(rcpt);
        free(message);
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "out of memory");
        return;
    }
    s_upload_t up;
    memset(&up, 0, sizeof up);
    up.data = message;
    up.len = strlen(message);
    char from[S_MAX_ADDRESS + 3];
    snprintf(from, sizeof from, "<%s>", self->from_addr);
    char curl_err[CURL_ERROR_SIZE];

    CURL *c = self->curl;
    outlet_curl_prepare(c, self->timeout_ms, self->connect_timeout_ms, curl_err);
    curl_easy_setopt(c, CURLOPT_URL, self->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, self->use_ssl);
    if (self->username)
        curl_easy_setopt(c, CURLOPT_USERNAME, self->username);
    if (self->password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, self->password);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, s_on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, s_on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &up);
    long code;
    CURLcode cc = outlet_curl_perform(c, &code);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rcpt);
    free(message);

    res->code = (int)code;
    s_trim(up.fail_in);
    s_trim(up.fail_out);
    if (cc == CURLE_OK) {
        res->outcome = OUTLET_DELIVERED;
        snprintf(res->detail, sizeof res->detail, "SMTP %ld to %zu recipient%s", code, rule->nto,
                 rule->nto == 1 ? "" : "s");
        return;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        res->outcome = OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "stopped");
        return;
    }
    if (code >= 400 && code < 600) {
        /* rule 3 */
        res->outcome = code >= 500 && !self->refused_retry ? OUTLET_REJECTED : OUTLET_RETRY;
        snprintf(res->detail, sizeof res->detail, "SMTP %ld after %.80s: %.120s", code,
                 *up.fail_out ? up.fail_out : "connecting", *up.fail_in ? up.fail_in : curl_err);
        return;
    }
    res->outcome = OUTLET_RETRY;
    char text[OUTLET_DETAIL_LEN];
    const char *why = *curl_err ? curl_err : curl_easy_strerror(cc);
    outlet_one_line(why, strlen(why), sizeof text - 1, text, sizeof text);
    snprintf(res->detail, sizeof res->detail, "%s", text);
}

int main(int argc, char **argv)
{
    s_self.timeout_ms = 30 * 1000;
    s_self.connect_timeout_ms = 10 * 1000;
    s_self.use_ssl = CURLUSESSL_NONE;
    static const outlet_adapter_t adapter = {
        .program = S_PROGRAM,
        .summary = "Subscribes as a department and sends each notification as an email over SMTP, to the\n"
                   "recipients of the first mail.recipients rule whose topic pattern matches, acknowledging\n"
                   "it to the hub only after the server accepted the message. 4xx replies, timeouts and\n"
                   "connection errors are retried with backoff; a 5xx (a refused recipient) dead-letters\n"
                   "it, or is retried with smtp.on_refused: retry.\n",
        .known = "smtp, mail",
        .section = s_section,
        .prepare = s_prepare,
        .deliver = s_deliver,
        .cleanup = s_cleanup,
        .arg = &s_self,
    };
    return outlet_main(argc, argv, &adapter);
}
