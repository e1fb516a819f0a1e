// The Boost.Beast and Asio headers the transport files share, with their namespace aliases,
// in one place (as Beast's chat-multi `beast.hpp`): Beast is slow to compile, and one list
// keeps every transport translation unit's set the same. Declarations only: any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace stampede::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

}  // namespace stampede::http
