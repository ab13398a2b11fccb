/* set.h - part of the object model (included by containers.h only). */
#ifndef GH_CONTAINERS_SET_H
#define GH_CONTAINERS_SET_H
#ifndef GH_CONTAINERS_CONTAINERS_H_BODY
#error "include containers/containers.h"
#endif
#endif
