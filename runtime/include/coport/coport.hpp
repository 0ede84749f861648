#pragma once
/// \file
/// Everything a coport user needs: nodes, ports, messages, monitors, timers.

#include "coport/actor.hpp"
#include "coport/call.hpp"
#include "coport/envelope.hpp"
#include "coport/log.hpp"
#include "coport/message.hpp"
#include "coport/monitor.hpp"
#include "coport/node.hpp"
#include "coport/options.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"
#include "coport/receive.hpp"
#include "coport/remote.hpp"
#include "coport/sleep.hpp"
#include "coport/supervisor.hpp"
#include "coport/tag.hpp"
#include "coport/task.hpp"
#include "coport/timer.hpp"
#include "coport/trace.hpp"
