/*
 * httpd_listen - listen addresses (see httpd_listen.h).
 */
#include "httpd_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int httpd_listen_parse(const char *text, const httpd_listen_hint_t *hint, struct sockaddr_storage *addr,
                       socklen_t *len_p, char err[HUB_ERR_LEN])
{
    char host[HTTPD_LISTEN_LEN];
    const char *colon = strrchr(text, ':');
    memset(addr, 0, sizeof *addr);
    if (!colon || colon == text || strlen(text) >= sizeof host) {
        snprintf(err, HUB_ERR_LEN, "\"%.64s\" is not HOST:PORT (like %s)", text, hint->example);
        return -HUB_EINVALID;
    }
    const char *port_text = colon + 1;
    unsigned long port = 0;
    int ok = *port_text && strlen(port_text) <= 5 && strspn(port_text, "0123456789") == strlen(port_text);
    if (ok)
        port = strtoul(port_text, NULL, 10);
    if (!ok || port > 65535) {
        snprintf(err, HUB_ERR_LEN, "\"%.64s\": the port must be a number from 0 to 65535", text);
        return -HUB_EINVALID;
    }
    size_t hlen = (size_t)(colon - text);
    memcpy(host, text, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons((uint16_t)port);
            *len_p = sizeof *in6;
            return 0;
        }
    }
    else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
            in4->sin_family = AF_INET;
            in4->sin_port = htons((uint16_t)port);
            *len_p = sizeof *in4;
            return 0;
        }
    }
    snprintf(err, HUB_ERR_LEN, "\"%.64s\": the host must be a numeric address (%s)", text, hint->hosts);
    return -HUB_EINVALID;
}

int httpd_is_loopback(const struct sockaddr *addr)
{
    if (!addr)
        return 0;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)addr;
        return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

const char *httpd_listen_announce(const char *listen, int port, char *shown, size_t size)
{
    const char *colon = strrchr(listen, ':');
    int hlen = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(shown, size, "%.*s:%d", hlen, listen, port);
    printf("listening on %s\n", shown);
    fflush(stdout);
    return shown;
}
