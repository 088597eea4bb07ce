/*
 * plan - tables by field number, made from protobuf-c's descriptors once
 * per process (pthread_once) and only read afterwards.
 */
#include <pthread.h>
#include <stdint.h>

#include "hub.pb-c.h"
#include "plan.h"

#define S_MAX_PLANS 96  /* message types a Frame can hold (about 40) */
#define S_MAX_FIELDS 64 /* fields of one message (a bit each in the reader's seen mask) */
#define S_INDEX 256     /* slots of the index by descriptor: a power of two, over S_MAX_PLANS */

static hub_plan_t s_plans[S_MAX_PLANS];
static size_t s_nplans;
static const hub_plan_t *s_index[S_INDEX]; /* open addressing by descriptor address */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static size_t s_hash(const ProtobufCMessageDescriptor *desc)
{
    return (size_t)(((uintptr_t)desc * 0x9e3779b97f4a7c15ULL) >> 56) & (S_INDEX - 1);
}

static uint8_t s_kind(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return f->type == PROTOBUF_C_TYPE_STRING    ? HUB_PLAN_STRING
               : f->type == PROTOBUF_C_TYPE_MESSAGE ? HUB_PLAN_MESSAGE
                                                    : HUB_PLAN_DECLINE;
    if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
        return HUB_PLAN_DECLINE; /* required, or proto3's none */
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return HUB_PLAN_STRING;
    case PROTOBUF_C_TYPE_MESSAGE:
        return HUB_PLAN_MESSAGE;
    case PROTOBUF_C_TYPE_BOOL:
        return HUB_PLAN_BOOL;
    case PROTOBUF_C_TYPE_ENUM:
        return HUB_PLAN_ENUM;
    case PROTOBUF_C_TYPE_UINT32:
        return HUB_PLAN_U32;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_INT64:
        return HUB_PLAN_U64; /* int64: the same bits */
    default:
        return HUB_PLAN_DECLINE;
    }
}

static uint8_t s_how(const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return HUB_PLAN_REPEATED;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return HUB_PLAN_ONEOF;
    return f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ? HUB_PLAN_PRESENT
                                                                                   : HUB_PLAN_OPTIONAL;
}

/* The plan of desc, made with those of the messages it holds; NULL when
 * there is no room for it (its fields then decline). */
static const hub_plan_t *s_make(const ProtobufCMessageDescriptor *desc)
{
    for (size_t i = 0; i < s_nplans; i++)
        if (s_plans[i].desc == desc)
            return &s_plans[i];
    if (s_nplans == S_MAX_PLANS || desc->n_fields > S_MAX_FIELDS)
        return NULL;
    hub_plan_t *plan = &s_plans[s_nplans++];
    plan->desc = desc; /* first: a message that holds its own type finds it */
    plan->writable = 1;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->id > HUB_PLAN_MAX_NUMBER || f->default_value) {
            plan->writable = 0; /* its number declines when read */
            continue;
        }
        hub_plan_slot_t *s = &plan->slots[f->id];
        s->kind = s_kind(f);
        s->how = s_how(f);
        s->bit = (uint8_t)i;
        s->id = f->id;
        s->tag = f->id << 3 | (s->kind == HUB_PLAN_STRING || s->kind == HUB_PLAN_MESSAGE ? 2u : 0u);
        s->offset = f->offset;
        s->qoff = f->quantifier_offset;
        if (f->id > plan->max_id)
            plan->max_id = f->id;
        if (s->kind == HUB_PLAN_MESSAGE && !(s->sub = s_make(f->descriptor)))
            s->kind = HUB_PLAN_DECLINE;
    }
    return plan;
}

static void s_make_all(void)
{
    s_make(&hub__frame__descriptor);
    for (size_t i = 0; i < s_nplans; i++) {
        size_t h = s_hash(s_plans[i].desc);
        while (s_index[h])
            h = (h + 1) & (S_INDEX - 1);
        s_index[h] = &s_plans[i];
    }
}

const hub_plan_t *hub_plan_of(const ProtobufCMessageDescriptor *desc)
{
    pthread_once(&s_once, s_make_all);
    for (size_t h = s_hash(desc);; h = (h + 1) & (S_INDEX - 1)) {
        if (!s_index[h] || s_index[h]->desc == desc)
            return s_index[h];
    }
}
