/* instance.fl.c - instances of a plain user class, for one flavour. */
#include "containers/containers.h"

static void instance_dealloc(gh_object *self)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
    if (in->dict)
        gh_decref(&in->dict->ob);
    gh_object_free(self, sizeof(struct gh_instance));
}

static void instance_traverse(gh_object *self, gh_visitproc visit, void *arg)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
    if (in->dict)
        visit(&in->dict->ob, arg);
}

static void instance_clear(gh_object *self)
{
    struct gh_instance *in = (struct gh_instance *)(void *)self;
    struct gh_dict *d = in->dict;
    in->dict = NULL;
    if (d)
        gh_decref(&d->ob);
}

const struct gh_type GH_FL(gh_instance_type) = {
    .tp_name = "object",
    .kind = GH_KIND_INSTANCE,
    .flags = GH_TPFLAG_GC,
    .lock_class = GH_LOCK_instance,
    .tp_basicsize = sizeof(struct gh_instance),
    .tp_dealloc = instance_dealloc,
    .tp_traverse = instance_traverse,
    .tp_clear = instance_clear,
};

gh_object *GH_FL(gh_instance_new)(void)
{
    gh_object *o = gh_object_alloc(&GH_FL(gh_instance_type), sizeof(struct gh_instance));
    ((struct gh_instance *)(void *)o)->dict = NULL;
    return o;
}
